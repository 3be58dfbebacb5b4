/** One line of `lorabot doctor`: what was checked and, when it is not OK, the fix. */
export interface DoctorCheck {
  level: 'OK' | 'WARN' | 'FAIL';
  name: string;
  message: string;
}

/** The check as one aligned line: level, name, message. */
export function formatCheck(check: DoctorCheck): string {
  return `${check.level.padEnd(5)} ${check.name.padEnd(9)} ${check.message}`;
}
