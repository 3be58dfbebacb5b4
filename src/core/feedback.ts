/** A person's rating of an answer or a result: 👍 or 👎. */
export type FeedbackVote = 'up' | 'down';

/** Who voted: one vote per person per job, whatever channel they pressed in. */
export interface Voter {
  platform: 'slack' | 'discord' | 'web';
  workspaceId: string;
  userId: string;
}

/** How many people rated a job each way. */
export interface FeedbackCount {
  up: number;
  down: number;
}

/** Where votes are kept. */
export interface FeedbackVotes {
  /** Records a person's vote on a job, replacing their earlier one; returns the vote it replaced, if any. */
  vote(jobId: string, voter: Voter, vote: FeedbackVote): Promise<FeedbackVote | undefined>;
  /** The counts of each job that has votes. */
  counts(jobIds: readonly string[]): Promise<Map<string, FeedbackCount>>;
}
