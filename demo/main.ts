/**
 * The demo page: choose weights, then compare sentences, search a small corpus, and look at the
 * tokens and attention maps of one text. All model work happens in the Web Worker
 * (`minilm.worker.js`, built from src/browser/worker.ts) through `EncoderClient`; this module only
 * reads the page and draws the answers. It is bundled by scripts/bundle.ts into dist/demo/demo.js.
 *
 * Weights come from a file the user drops or picks (read by the worker as a Blob), from a URL
 * the worker downloads with progress and keeps in Cache Storage (a cached URL is loaded on the
 * next visit without asking), or from the synthetic generator (meaningless numbers, no download).
 * `?weights=synthetic-full` or `?weights=synthetic-tiny` in the address loads those at start.
 *
 * Left out: frameworks, web fonts, anything that needs a server beyond static files.
 */

import { EncoderClient, type Inspection, type LoadOptions, type LoadProgress, type ModelInfo } from '../src/browser/client.ts';
import { WeightsCache } from '../src/browser/download.ts';
import { AttentionView } from './attention-view.ts';
import { css, diverging, gradient, textOn } from './colors.ts';

/** The tokenizer and config of all-MiniLM-L6-v2, served next to the page. */
const MODEL_FILES = { configUrl: 'model/config.json', vocabUrl: 'model/vocab.txt' } as const;
const URL_STORAGE_KEY = 'minilm-ts-demo:weights-url';
const MAX_SENTENCES = 24;

const element = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`demo: the page has no #${id}`);
  return found as T;
};

const client = EncoderClient.start(new URL('./minilm.worker.js', import.meta.url));
// For the curious: the same client, from the browser console.
Object.assign(globalThis, { minilm: client });
console.info("minilm-ts: try `await minilm.embed(['hello world'])` once a model is loaded.");

let model: ModelInfo | null = null;
let modelLabel = '';
/** Bumped on every load, so vectors computed with a previous model are not reused. */
let generation = 0;
let loading = false;
let corpusVectors: { key: string; vectors: Float32Array[] } | null = null;
let inspection: Inspection | null = null;

// ---------------------------------------------------------------------------------------------
// Status, progress, errors
// ---------------------------------------------------------------------------------------------

type StatusState = 'empty' | 'loading' | 'ready' | 'synthetic' | 'error';

function setStatus(state: StatusState, text: string): void {
  const status = element('status');
  status.dataset.state = state;
  status.querySelector('.status-text')!.textContent = text;
  status.title = text;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function duration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function showProgress(progress: LoadProgress): void {
  const box = element('load-progress');
  const bar = box.querySelector<HTMLElement>('.progress')!;
  const label = box.querySelector<HTMLElement>('.progress-label')!;
  box.hidden = false;
  const fraction = progress.total ? progress.loaded / progress.total : null;
  bar.classList.toggle('indeterminate', fraction === null);
  bar.querySelector<HTMLElement>('.bar')!.style.width = fraction === null ? '' : `${(fraction * 100).toFixed(1)}%`;
  if (fraction === null) bar.removeAttribute('aria-valuenow');
  else bar.setAttribute('aria-valuenow', String(Math.round(fraction * 100)));
  const amount = progress.total
    ? `${megabytes(progress.loaded)} of ${megabytes(progress.total)} (${Math.floor(fraction! * 100)}%)`
    : progress.loaded > 0 ? megabytes(progress.loaded) : '';
  const text: Record<LoadProgress['phase'], string> = {
    download: `Downloading ${amount}`,
    cache: `Reading from this browser’s cache ${amount}`,
    read: `Reading the file ${amount}`,
    generate: 'Generating the synthetic weights…',
    prepare: 'Checking every tensor and preparing the model…',
  };
  label.textContent = text[progress.phase].trim();
}

function hideProgress(): void {
  element('load-progress').hidden = true;
}

function showLoadError(message: string | null): void {
  const box = element('load-error');
  box.hidden = message === null;
  box.textContent = message ?? '';
}

/** Shows (or clears) an error line at the end of a panel. */
function panelError(panelId: string, error: unknown): void {
  const panel = element(panelId);
  let line = panel.querySelector<HTMLElement>(':scope > .error');
  if (error === null) {
    line?.remove();
    return;
  }
  if (line === null) {
    line = document.createElement('p');
    line.className = 'error';
    line.setAttribute('role', 'alert');
    panel.append(line);
  }
  line.textContent = describeError(error);
}

function describeError(error: unknown): string {
  if (error instanceof Error) return error.name && error.name !== 'Error' ? `${error.name}: ${error.message}` : error.message;
  return String(error);
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

const SOURCE_CONTROLS = ['download-button', 'synthetic-full', 'synthetic-tiny', 'file-input', 'use-simd'];

async function loadModel(requested: LoadOptions, label: string): Promise<void> {
  if (loading) return;
  const options: LoadOptions = element<HTMLInputElement>('use-simd').checked ? { ...requested, backend: 'simd' } : requested;
  loading = true;
  for (const id of SOURCE_CONTROLS) element<HTMLButtonElement | HTMLInputElement>(id).disabled = true;
  showLoadError(null);
  setStatus('loading', `Loading ${label}…`);
  showProgress({ phase: options.weights.kind === 'synthetic' ? 'generate' : 'read', loaded: 0, total: null });
  try {
    const info = await client.load(options, showProgress);
    model = info;
    modelLabel = label;
    generation++;
    corpusVectors = null;
    hideProgress();
    renderModelCard(info, label);
    unlockPanels(info);
    setStatus(info.synthetic ? 'synthetic' : 'ready', info.synthetic ? `${label}: meaningless numbers` : `Ready: ${label}`);
    if (options.weights.kind === 'url') void refreshCacheState(false);
    await refreshAll();
  } catch (error) {
    hideProgress();
    showLoadError(`Could not load ${label}. ${describeError(error)}`);
    if (model === null) setStatus('error', 'No model loaded');
    else setStatus(model.synthetic ? 'synthetic' : 'ready', `Still using ${modelLabel}`);
  } finally {
    loading = false;
    for (const id of SOURCE_CONTROLS) element<HTMLButtonElement | HTMLInputElement>(id).disabled = false;
  }
}

function renderModelCard(info: ModelInfo, label: string): void {
  const card = element('model-card');
  const origin: Record<ModelInfo['origin'], string> = {
    network: 'downloaded',
    cache: 'this browser’s cache',
    blob: 'your file',
    buffer: 'memory',
    synthetic: 'generated here',
  };
  const facts: Array<[string, string]> = [
    ['Weights', label],
    ['From', origin[info.origin]],
    ['Size', megabytes(info.weightBytes)],
    ['Layers', String(info.layers)],
    ['Heads', String(info.heads)],
    ['Dimensions', String(info.hiddenSize)],
    ['Vocabulary', info.vocabSize.toLocaleString('en')],
    ['Kernel', info.backend === 'simd' ? 'WebAssembly SIMD' : 'TypeScript'],
    ['Ready in', duration(info.loadMilliseconds)],
  ];
  card.replaceChildren(
    ...facts.map(([term, value]) => {
      const group = document.createElement('div');
      const dt = document.createElement('dt');
      const dd = document.createElement('dd');
      dt.textContent = term;
      dd.textContent = value;
      group.append(dt, dd);
      return group;
    }),
  );
  card.classList.toggle('synthetic', info.synthetic);
  card.hidden = false;
  if (info.cached?.stored === false) showLoadError(`Loaded, but not kept for next time: ${info.cached.reason ?? 'unknown reason'}.`);
}

function unlockPanels(info: ModelInfo): void {
  for (const id of ['compare', 'search-button', 'inspect-button']) element<HTMLButtonElement>(id).disabled = false;
  for (const panel of document.querySelectorAll('.needs-model')) panel.classList.remove('locked');
  for (const badge of document.querySelectorAll<HTMLElement>('.synthetic-badge')) badge.hidden = !info.synthetic;
  for (const span of document.querySelectorAll('.dim')) span.textContent = String(info.hiddenSize);
  for (const span of document.querySelectorAll('.vocab-size')) span.textContent = info.vocabSize.toLocaleString('en');
  const layer = element<HTMLInputElement>('layer');
  const head = element<HTMLInputElement>('head');
  layer.max = String(info.layers);
  head.max = String(info.heads);
  if (Number(layer.value) > info.layers) layer.value = '1';
  if (Number(head.value) > info.heads) head.value = '1';
  element('similarity-placeholder').hidden = true;
}

async function refreshAll(): Promise<void> {
  await compare();
  await search();
  await inspectText();
}

/** Looks the download URL up in Cache Storage; loads it at once when asked and present. */
async function refreshCacheState(loadIfCached: boolean): Promise<void> {
  const url = element<HTMLInputElement>('weights-url').value.trim();
  const button = element<HTMLButtonElement>('download-button');
  const forget = element<HTMLButtonElement>('forget-cache');
  const cache = await WeightsCache.open();
  const size = url === '' ? null : await cache.size(new URL(url, location.href).href).catch(() => null);
  button.textContent = size === null ? 'Download' : `Load from cache (${megabytes(size)})`;
  forget.hidden = size === null;
  element('cache-hint').textContent = !cache.available
    ? 'This page cannot use Cache Storage here (it needs https or localhost): it will download every time.'
    : size === null
      ? 'Kept in this browser’s Cache Storage, so the next visit loads it from disk.'
      : 'Already in this browser’s Cache Storage: no download needed.';
  if (loadIfCached && size !== null) await loadFromUrl();
}

async function loadFromUrl(): Promise<void> {
  const url = element<HTMLInputElement>('weights-url').value.trim();
  if (url === '') return;
  try {
    localStorage.setItem(URL_STORAGE_KEY, url);
  } catch {
    // storage disabled: the URL is simply not remembered
  }
  await loadModel({ weights: { kind: 'url', url }, ...MODEL_FILES }, fileLabel(url));
}

function fileLabel(url: string): string {
  try {
    const parsed = new URL(url, location.href);
    const hub = parsed.pathname.match(/^\/([^/]+\/[^/]+)\/resolve\//);
    return hub ? hub[1]! : parsed.pathname.split('/').pop() || parsed.host;
  } catch {
    return url;
  }
}

async function loadFiles(files: File[]): Promise<void> {
  const weights = files.find((file) => file.name.endsWith('.safetensors'));
  if (weights === undefined) {
    showLoadError(`None of ${files.map((f) => `“${f.name}”`).join(', ')} is a .safetensors file: drop model.safetensors (with config.json and vocab.txt if it is another model).`);
    return;
  }
  const config = files.find((file) => file.name === 'config.json');
  const vocab = files.find((file) => file.name.endsWith('.txt'));
  const options: LoadOptions = {
    weights: { kind: 'blob', blob: weights },
    ...(config ? { config: await config.text() } : { configUrl: MODEL_FILES.configUrl }),
    ...(vocab ? { vocab: await vocab.text() } : { vocabUrl: MODEL_FILES.vocabUrl }),
  };
  await loadModel(options, weights.name);
}

// ---------------------------------------------------------------------------------------------
// Compare sentences
// ---------------------------------------------------------------------------------------------

function lines(text: string): string[] {
  return text.split('\n').map((line) => line.trim()).filter((line) => line.length > 0);
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return aa > 0 && bb > 0 ? dot / Math.sqrt(aa * bb) : 0;
}

async function compare(): Promise<void> {
  if (model === null) return;
  const sentences = lines(element<HTMLTextAreaElement>('sentences').value).slice(0, MAX_SENTENCES);
  panelError('similarity-panel', null);
  if (sentences.length === 0) {
    element('similarity-matrix').replaceChildren();
    return;
  }
  const button = element<HTMLButtonElement>('compare');
  button.disabled = true;
  try {
    const started = performance.now();
    const timing = element('compare-timing');
    const vectors = await client.embed(sentences, { batchSize: 8, onProgress: ({ done, total }) => (timing.textContent = `embedding ${done} of ${total}…`) });
    const elapsed = performance.now() - started;
    renderMatrix(sentences, vectors);
    element('compare-timing').textContent = `${sentences.length} sentences embedded in ${duration(elapsed)}`;
  } catch (error) {
    panelError('similarity-panel', error);
  } finally {
    button.disabled = false;
  }
}

function renderMatrix(sentences: string[], vectors: Float32Array[]): void {
  const table = element<HTMLTableElement>('similarity-matrix');
  const head = document.createElement('thead');
  const headRow = head.insertRow();
  headRow.append(document.createElement('th'));
  sentences.forEach((_, j) => {
    const th = document.createElement('th');
    th.textContent = String(j + 1);
    th.scope = 'col';
    headRow.append(th);
  });
  const body = document.createElement('tbody');
  sentences.forEach((sentence, i) => {
    const row = body.insertRow();
    const th = document.createElement('th');
    th.scope = 'row';
    th.title = sentence;
    const n = document.createElement('span');
    n.className = 'n';
    n.textContent = String(i + 1);
    th.append(n, sentence);
    row.append(th);
    sentences.forEach((other, j) => {
      const value = cosine(vectors[i]!, vectors[j]!);
      const cell = row.insertCell();
      const colour = diverging(value);
      cell.textContent = value.toFixed(2);
      cell.style.background = css(colour);
      cell.style.color = textOn(colour);
      cell.title = `${value.toFixed(4)}\n${i + 1}. ${sentence}\n${j + 1}. ${other}`;
    });
  });
  table.replaceChildren(head, body);

  const legend = element('similarity-legend');
  const ramp = document.createElement('span');
  ramp.className = 'ramp';
  ramp.style.background = gradient(diverging, -1, 1);
  legend.replaceChildren(document.createTextNode('−1'), ramp, document.createTextNode('1   (cosine similarity)'));
}

// ---------------------------------------------------------------------------------------------
// Search
// ---------------------------------------------------------------------------------------------

async function search(): Promise<void> {
  if (model === null) return;
  const documents = lines(element<HTMLTextAreaElement>('corpus').value);
  const query = element<HTMLInputElement>('query').value.trim();
  panelError('search-panel', null);
  if (documents.length === 0 || query === '') {
    element('results').replaceChildren();
    return;
  }
  const button = element<HTMLButtonElement>('search-button');
  button.disabled = true;
  try {
    const key = `${generation}\n${documents.join('\n')}`;
    let corpusTime = 0;
    if (corpusVectors?.key !== key) {
      const started = performance.now();
      const timing = element('search-timing');
      const onProgress = ({ done, total }: { done: number; total: number }): void => {
        timing.textContent = `embedding the documents: ${done} of ${total}…`;
      };
      corpusVectors = { key, vectors: await client.embed(documents, { batchSize: 8, onProgress }) };
      corpusTime = performance.now() - started;
    }
    const started = performance.now();
    const [queryVector] = await client.embed([query]);
    const queryTime = performance.now() - started;
    const vectors = corpusVectors.vectors;
    const ranked = documents
      .map((text, i) => ({ text, score: cosine(queryVector!, vectors[i]!) }))
      .sort((a, b) => b.score - a.score)
      .slice(0, 5);
    element('results').replaceChildren(
      ...ranked.map(({ text, score }) => {
        const item = document.createElement('li');
        const value = document.createElement('span');
        value.className = 'score';
        value.textContent = score.toFixed(3);
        const doc = document.createElement('span');
        doc.className = 'doc';
        doc.textContent = text;
        const meter = document.createElement('span');
        meter.className = 'meter';
        const fill = document.createElement('span');
        fill.style.width = `${Math.max(0, Math.min(1, score)) * 100}%`;
        meter.append(fill);
        item.append(value, doc, document.createElement('span'), meter);
        return item;
      }),
    );
    element('search-timing').textContent = corpusTime > 0
      ? `${documents.length} documents embedded in ${duration(corpusTime)} (kept for the next query), query in ${duration(queryTime)}`
      : `query embedded in ${duration(queryTime)}; documents reused`;
  } catch (error) {
    panelError('search-panel', error);
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------
// Look inside
// ---------------------------------------------------------------------------------------------

const attentionView = new AttentionView(element<HTMLCanvasElement>('attention-canvas'), element('attention-tip'), (query) => {
  element('tokens').querySelectorAll('.token').forEach((chip, i) => chip.classList.toggle('active', i === query));
});

async function inspectText(): Promise<void> {
  if (model === null) return;
  const text = element<HTMLInputElement>('inspect-text').value;
  panelError('inside-panel', null);
  const button = element<HTMLButtonElement>('inspect-button');
  button.disabled = true;
  try {
    inspection = await client.inspect(text);
    renderTokens(inspection, text);
    drawAttention();
  } catch (error) {
    panelError('inside-panel', error);
  } finally {
    button.disabled = false;
  }
}

function renderTokens(view: Inspection, text: string): void {
  const chips = view.tokens.map((token, i) => {
    const chip = document.createElement('span');
    const special = /^\[[A-Z]+\]$/.test(token);
    chip.className = special ? 'token special' : 'token';
    const piece = document.createElement('span');
    piece.className = 'piece';
    if (token.startsWith('##')) {
      const mark = document.createElement('span');
      mark.className = 'cont';
      mark.textContent = '##';
      piece.append(mark, token.slice(2));
    } else {
      piece.textContent = token;
    }
    const id = document.createElement('span');
    id.className = 'id';
    id.textContent = String(view.ids[i]);
    chip.append(piece, id);
    const [start, end] = view.offsets[i]!;
    chip.title = special
      ? `${token}: id ${view.ids[i]}, added around every text`
      : `“${text.slice(start, end)}” (characters ${start}–${end}): id ${view.ids[i]}`;
    return chip;
  });
  const note = document.createElement('span');
  note.className = 'note';
  note.textContent = view.untruncatedLength > view.ids.length
    ? `${view.ids.length} tokens (cut from ${view.untruncatedLength}: the model reads at most ${view.ids.length})`
    : `${view.ids.length} tokens`;
  element('tokens').replaceChildren(...chips, note);
}

function drawAttention(): void {
  const view = inspection;
  if (view === null) return;
  const L = view.tokens.length;
  const layer = Math.min(view.layers, Number(element<HTMLInputElement>('layer').value)) - 1;
  const head = Math.min(view.heads, Number(element<HTMLInputElement>('head').value)) - 1;
  const mean = element<HTMLInputElement>('mean-heads').checked;
  element('layer-out').textContent = `${layer + 1} of ${view.layers}`;
  element('head-out').textContent = mean ? 'all' : `${head + 1} of ${view.heads}`;
  element<HTMLInputElement>('head').disabled = mean;
  const size = L * L;
  let values: Float32Array; // [L, L]
  if (mean) {
    values = new Float32Array(size);
    for (let h = 0; h < view.heads; h++) {
      const map = view.attention.subarray((layer * view.heads + h) * size, (layer * view.heads + h + 1) * size);
      for (let i = 0; i < size; i++) values[i]! += map[i]! / view.heads;
    }
  } else {
    values = view.attention.subarray((layer * view.heads + head) * size, (layer * view.heads + head + 1) * size);
  }
  element('attention-placeholder').hidden = true;
  element('attention-canvas').hidden = false;
  attentionView.show({ tokens: view.tokens, values });
  element('attention-caption').textContent =
    `Layer ${layer + 1}, ${mean ? `the average of its ${view.heads} heads` : `head ${head + 1}`}. ` +
    'Row: the token that is looking (the query). Column: the token it looks at (the key). Each row sums to 1.';
}

// ---------------------------------------------------------------------------------------------
// Wiring
// ---------------------------------------------------------------------------------------------

function wire(): void {
  for (const panel of document.querySelectorAll('.needs-model')) panel.classList.add('locked');

  const dropzone = element('dropzone');
  const fileInput = element<HTMLInputElement>('file-input');
  fileInput.addEventListener('change', () => {
    if (fileInput.files && fileInput.files.length > 0) void loadFiles([...fileInput.files]);
    fileInput.value = '';
  });
  for (const type of ['dragenter', 'dragover'] as const) {
    dropzone.addEventListener(type, (event) => {
      event.preventDefault();
      dropzone.classList.add('dragging');
    });
  }
  dropzone.addEventListener('dragleave', () => dropzone.classList.remove('dragging'));
  dropzone.addEventListener('drop', (event) => {
    event.preventDefault();
    dropzone.classList.remove('dragging');
    const files = [...(event.dataTransfer?.files ?? [])];
    if (files.length > 0) void loadFiles(files);
  });
  // A file dropped beside the zone must not make the browser navigate away from the page.
  window.addEventListener('dragover', (event) => event.preventDefault());
  window.addEventListener('drop', (event) => event.preventDefault());
  dropzone.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      fileInput.click();
    }
  });

  const urlInput = element<HTMLInputElement>('weights-url');
  try {
    const remembered = localStorage.getItem(URL_STORAGE_KEY);
    if (remembered) urlInput.value = remembered;
  } catch {
    // storage disabled
  }
  element('download-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void loadFromUrl();
  });
  urlInput.addEventListener('change', () => void refreshCacheState(false));
  element('forget-cache').addEventListener('click', async () => {
    const cache = await WeightsCache.open();
    await cache.delete(new URL(urlInput.value.trim(), location.href).href);
    await refreshCacheState(false);
  });

  element('synthetic-full').addEventListener('click', () =>
    void loadModel({ weights: { kind: 'synthetic', variant: 'full' }, vocabUrl: MODEL_FILES.vocabUrl }, 'Synthetic (full size)'));
  element('synthetic-tiny').addEventListener('click', () =>
    void loadModel({ weights: { kind: 'synthetic', variant: 'tiny' }, vocabUrl: MODEL_FILES.vocabUrl }, 'Synthetic (tiny)'));

  element('compare').addEventListener('click', () => void compare());
  element('sentences').addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) void compare();
  });
  element('search-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void search();
  });
  element('inspect-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void inspectText();
  });
  for (const id of ['layer', 'head', 'mean-heads']) element(id).addEventListener('input', drawAttention);

  const wanted = new URLSearchParams(location.search).get('weights');
  if (wanted === 'synthetic-full') element('synthetic-full').click();
  else if (wanted === 'synthetic-tiny') element('synthetic-tiny').click();
  else void refreshCacheState(true);
}

wire();
