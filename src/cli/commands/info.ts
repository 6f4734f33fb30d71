/**
 * `minilm info`: what a model is and where it lives: id, revision, folder, architecture, the
 * sentence pipeline (max_seq_length, pooling, normalisation, prompts), files with sizes, and the
 * cache locations. Never downloads: a model that is not cached is described from the manifest.
 */

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SentenceTokenizer } from '../../model/sentence-tokenizer.ts';
import { readModelFolder } from '../../node.ts';
import { huggingFaceHubCacheDir, minilmCacheDir } from '../../node/hub/cache-dirs.ts';
import { locateModel, planHubModel, type ResolvedModel } from '../../node/hub/resolve-model.ts';
import { parseCommandArgs, writeOut, type CliIO, type Command } from '../io.ts';
import { loadOptions, MODEL_OPTIONS, MODEL_OPTIONS_HELP, modelReference } from '../model-options.ts';

const OPTIONS = { ...MODEL_OPTIONS, json: { type: 'boolean' } } as const;

export const infoCommand: Command = {
  name: 'info',
  summary: 'model config, files, sizes and cache locations (never downloads)',
  help: `Usage: minilm info [options]

Describes the model: where it is (or would be downloaded to), its architecture and sentence
pipeline, its files and their sizes, and the cache folders searched.

Options:
      --json               the same as one JSON object
${MODEL_OPTIONS_HELP}
`,
  async run(args: string[], io: CliIO): Promise<number> {
    const { values, positionals } = parseCommandArgs(args, OPTIONS);
    if (values['help']) {
      io.stdout.write(infoCommand.help);
      return 0;
    }
    if (positionals.length > 0) {
      values['model'] ??= positionals[0];
    }
    const reference = await modelReference(values, io);
    const options = loadOptions(values, io);
    const located: ResolvedModel | null = await locateModel(reference, options);
    const info: Record<string, unknown> = {
      model: located?.modelId ?? reference,
      caches: { minilm: minilmCacheDir(io.env), huggingface: huggingFaceHubCacheDir(io.env) },
    };

    if (located === null) {
      const plan = planHubModel(reference, options);
      Object.assign(info, {
        revision: plan.revision,
        status: 'not downloaded',
        folder: plan.dir,
        endpoint: plan.endpoint,
        offline: plan.offline,
        files: plan.pinned === null ? null : Object.entries(plan.pinned.files).map(([path, f]) => ({ path, size: f.size, sha256: f.sha256 })),
      });
    } else {
      const parts = await readModelFolder(located.dir, { weights: false });
      const { tokenizer, config } = SentenceTokenizer.fromParts({ ...parts, ...(options.maxSeqLength === undefined ? {} : { maxSeqLength: options.maxSeqLength }) });
      const pipeline = tokenizer.pipeline;
      const files = [];
      for (const path of [...parts.files, parts.weightsFile]) {
        const size = await stat(join(located.dir, path)).then((s) => s.size, () => null);
        files.push({ path, size });
      }
      Object.assign(info, {
        revision: located.revision,
        status: { folder: 'local folder', cache: 'cached', 'huggingface-cache': 'in the Hugging Face cache', download: 'downloaded' }[located.source],
        verified: located.verified,
        folder: located.dir,
        architecture: {
          layers: config.numLayers, hiddenSize: config.hiddenSize, heads: config.numHeads, intermediateSize: config.intermediateSize,
          vocabSize: config.vocabSize, maxPositions: config.maxPositions,
        },
        sentence: {
          maxSeqLength: tokenizer.maxSeqLength, pooling: pipeline.poolingModes.join('+'), normalize: pipeline.normalize,
          dimension: config.hiddenSize * pipeline.poolingModes.length, lowercase: pipeline.tokenizer.lowercase,
          prompts: pipeline.prompts, defaultPrompt: pipeline.defaultPromptName, similarity: pipeline.similarityFunction,
        },
        files,
        synthetic: parts.files.length > 0 && (await stat(join(located.dir, 'SYNTHETIC.md')).then(() => true, () => false)),
      });
    }
    await writeOut(io.stdout, values['json'] ? `${JSON.stringify(info, null, 2)}\n` : formatInfo(info));
    return 0;
  },
};

function formatInfo(info: Record<string, unknown>): string {
  const lines: string[] = [];
  const row = (key: string, value: string): void => {
    lines.push(`${key.padEnd(13)}${value}`);
  };
  row('model', String(info['model']));
  if (info['revision'] !== null && info['revision'] !== undefined) row('revision', String(info['revision']));
  row('status', `${String(info['status'])}${info['verified'] ? ' (verified against the manifest)' : ''}${info['synthetic'] ? ' (SYNTHETIC weights: meaningless numbers)' : ''}`);
  row('folder', String(info['folder']));
  const arch = info['architecture'] as Record<string, number> | undefined;
  if (arch) {
    row('architecture', `BERT, ${arch['layers']} layers, hidden ${arch['hiddenSize']}, ${arch['heads']} heads, feed-forward ${arch['intermediateSize']}, vocab ${arch['vocabSize']}, ${arch['maxPositions']} positions`);
  }
  const sentence = info['sentence'] as Record<string, unknown> | undefined;
  if (sentence) {
    const prompts = Object.entries(sentence['prompts'] as Record<string, string>);
    row('sentence', `max_seq_length ${sentence['maxSeqLength']}, pooling ${sentence['pooling']}, normalize ${sentence['normalize'] ? 'yes' : 'no'}, dimension ${sentence['dimension']}, lowercase ${sentence['lowercase'] ? 'yes' : 'no'}`);
    row('prompts', prompts.length === 0 ? 'none' : prompts.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ') + (sentence['defaultPrompt'] ? ` (default ${sentence['defaultPrompt']})` : ''));
  }
  const files = info['files'] as { path: string; size: number | null }[] | null | undefined;
  if (files) {
    lines.push('files');
    for (const f of files) lines.push(`  ${f.path.padEnd(36)}${f.size === null ? 'missing' : formatBytes(f.size)}`);
  }
  if (info['endpoint']) row('download', `from ${String(info['endpoint'])}${info['offline'] ? ' (HF_HUB_OFFLINE is set: no downloads)' : ''}; run \`minilm download\``);
  const caches = info['caches'] as { minilm: string; huggingface: string };
  row('cache', caches.minilm);
  row('hf cache', `${caches.huggingface} (read only)`);
  return `${lines.join('\n')}\n`;
}

function formatBytes(size: number): string {
  if (size < 1000) return `${size} B`;
  if (size < 1e6) return `${(size / 1e3).toFixed(1)} kB`;
  return `${(size / 1e6).toFixed(1)} MB`;
}
