import { type UserError, userError } from './lorabot-error.js';
import { err, ok, type Result } from './result.js';

/** The LoRA link formats Together accepts (Together skills `api-reference.md`, "LoRA Path Formats"). */
export type LoraUrlFormat =
  | 'huggingface-repo'
  | 'huggingface-file'
  | 'civitai-download'
  | 'replicate-model'
  | 'replicate-version'
  | 'safetensors-url';

export interface LoraUrl {
  url: string;
  format: LoraUrlFormat;
  /** Set when the URL was rewritten (a Hugging Face `/blob/` link): tell the user. */
  notice?: string;
}

const HUGGING_FACE_HOSTS = new Set(['huggingface.co', 'www.huggingface.co', 'hf.co']);
const CIVITAI_HOSTS = new Set(['civitai.com', 'www.civitai.com']);
const REPLICATE_HOSTS = new Set(['replicate.com', 'www.replicate.com']);

const ACCEPTED_FORMATS =
  'a Hugging Face repo (https://huggingface.co/owner/repo) or file (…/resolve/main/name.safetensors), ' +
  'a Civitai download link (https://civitai.com/api/download/models/123), a Replicate model ' +
  '(https://replicate.com/owner/model), or any https link ending in .safetensors';

/** Whether a `--lora` value is meant as a URL rather than a preset name. */
export function looksLikeUrl(ref: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(ref) || /^(www\.)?[\w-]+(\.[\w-]+)+\//i.test(ref);
}

/** Checks a LoRA URL against the formats Together accepts and normalises it (only `/blob/` is rewritten). */
export function parseLoraUrl(raw: string): Result<LoraUrl, UserError> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return err(
      userError(
        'lora_url_invalid',
        `\`${raw}\` is not a valid link. A LoRA link must be ${ACCEPTED_FORMATS}.`,
      ),
    );
  }
  if (url.protocol !== 'https:') {
    return err(
      userError(
        'lora_url_not_https',
        `LoRA links must use https: \`${raw}\` starts with \`${url.protocol}//\`. Use the https:// link instead.`,
      ),
    );
  }
  if (url.username || url.password) {
    return err(
      userError('lora_url_credentials', `LoRA links must not contain a user name or password: \`${raw}\`.`),
    );
  }
  const host = url.hostname.toLowerCase();
  const segments = url.pathname.split('/').filter((s) => s.length > 0);
  if (HUGGING_FACE_HOSTS.has(host)) return parseHuggingFace(raw, url, segments);
  if (CIVITAI_HOSTS.has(host)) return parseCivitai(raw, url, segments);
  if (REPLICATE_HOSTS.has(host)) return parseReplicate(raw, url, segments);
  if (url.pathname.toLowerCase().endsWith('.safetensors')) {
    return ok({ url: url.href, format: 'safetensors-url' });
  }
  return err(
    userError(
      'lora_url_unsupported',
      `\`${raw}\` is not a LoRA link Together accepts. Use ${ACCEPTED_FORMATS}.`,
    ),
  );
}

function parseHuggingFace(raw: string, url: URL, segments: string[]): Result<LoraUrl, UserError> {
  const [owner, repo, mode, revision, ...file] = segments;
  const origin = `https://huggingface.co`;
  if (owner && repo && segments.length === 2 && !['datasets', 'spaces'].includes(owner)) {
    return ok({ url: `${origin}/${owner}/${repo}`, format: 'huggingface-repo' });
  }
  const isFile = file.length > 0 && file[file.length - 1]!.toLowerCase().endsWith('.safetensors');
  if (owner && repo && revision && isFile && (mode === 'resolve' || mode === 'blob')) {
    const fileUrl = `${origin}/${owner}/${repo}/resolve/${revision}/${file.join('/')}${url.search}`;
    if (mode === 'resolve') return ok({ url: fileUrl, format: 'huggingface-file' });
    return ok({
      url: fileUrl,
      format: 'huggingface-file',
      notice: `Changed the Hugging Face link from /blob/ (a web page) to /resolve/ (the file itself): ${fileUrl}`,
    });
  }
  return err(
    userError(
      'lora_url_huggingface',
      `\`${raw}\` is not a Hugging Face LoRA link Together accepts. Use the repo ` +
        '(https://huggingface.co/owner/repo) or a file link (https://huggingface.co/owner/repo/resolve/main/name.safetensors).',
    ),
  );
}

function parseCivitai(raw: string, url: URL, segments: string[]): Result<LoraUrl, UserError> {
  const [api, download, models, id, ...rest] = segments;
  if (
    api === 'api' &&
    download === 'download' &&
    models === 'models' &&
    id &&
    /^\d+$/.test(id) &&
    !rest.length
  ) {
    return ok({
      url: `https://civitai.com/api/download/models/${id}${url.search}`,
      format: 'civitai-download',
    });
  }
  return err(
    userError(
      'lora_url_civitai',
      `\`${raw}\` is a Civitai page, not a download link. On the model page, copy the download link: ` +
        'https://civitai.com/api/download/models/<version id>.',
    ),
  );
}

function parseReplicate(raw: string, _url: URL, segments: string[]): Result<LoraUrl, UserError> {
  const [owner, model, versions, version, ...rest] = segments;
  if (owner && model && segments.length === 2) {
    return ok({ url: `https://replicate.com/${owner}/${model}`, format: 'replicate-model' });
  }
  if (owner && model && versions === 'versions' && version && /^[\w-]+$/.test(version) && !rest.length) {
    return ok({
      url: `https://replicate.com/${owner}/${model}/versions/${version}`,
      format: 'replicate-version',
    });
  }
  return err(
    userError(
      'lora_url_replicate',
      `\`${raw}\` is not a Replicate LoRA link Together accepts. Use https://replicate.com/owner/model ` +
        'or https://replicate.com/owner/model/versions/<version id>.',
    ),
  );
}
