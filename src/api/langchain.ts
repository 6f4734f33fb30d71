/**
 * MiniLMEmbeddings: the embeddings interface LangChain.js expects (`embedDocuments`,
 * `embedQuery`), without depending on LangChain. Vector stores and retrievers call only these two
 * methods, so an instance can be passed wherever LangChain wants an `Embeddings` object.
 *
 *   const embeddings = new MiniLMEmbeddings({ encoder: () => loadSentenceEncoder('sentence-transformers/all-MiniLM-L6-v2') });
 *   const store = await MemoryVectorStore.fromTexts(texts, metadatas, embeddings);
 *
 * The encoder may be given ready, as a promise, or as a function called on first use (so that
 * constructing the object does not load anything). Models that want different prompts for
 * queries and documents (e5: "query: " / "passage: ") take them as options.
 *
 * Left out: LangChain's retry/concurrency wrapper (AsyncCaller): embedding is local, and the
 * encoder already batches.
 */

import type { SentenceEncoder } from '../model/sentence-encoder.ts';

export type EncoderSource = SentenceEncoder | Promise<SentenceEncoder> | (() => SentenceEncoder | Promise<SentenceEncoder>);

export interface MiniLMEmbeddingsOptions {
  encoder: EncoderSource;
  /** Texts per forward pass. Default 32. */
  batchSize?: number;
  /** Default: the model's own setting. */
  normalize?: boolean;
  /** Text put before each query (e.g. 'query: ' for e5 models), or a prompt name of the model. */
  queryPrompt?: string;
  queryPromptName?: string;
  /** Text put before each document (e.g. 'passage: '), or a prompt name of the model. */
  documentPrompt?: string;
  documentPromptName?: string;
}

export class MiniLMEmbeddings {
  private readonly options: MiniLMEmbeddingsOptions;
  private encoderPromise: Promise<SentenceEncoder> | null = null;

  constructor(options: MiniLMEmbeddingsOptions) {
    if (typeof options !== 'object' || options === null || options.encoder === undefined) {
      throw new TypeError('MiniLMEmbeddings needs { encoder }: a SentenceEncoder, a promise of one, or a function returning one');
    }
    this.options = { ...options };
  }

  /** One vector per document, in order. */
  async embedDocuments(texts: string[]): Promise<number[][]> {
    const encoder = await this.encoder();
    if (texts.length === 0) return [];
    const matrix = await encoder.embedMatrix(texts, {
      ...this.common(),
      ...(this.options.documentPrompt === undefined ? {} : { prompt: this.options.documentPrompt }),
      ...(this.options.documentPromptName === undefined ? {} : { promptName: this.options.documentPromptName }),
    });
    return matrix.toArray();
  }

  /** The vector of one query. */
  async embedQuery(text: string): Promise<number[]> {
    const encoder = await this.encoder();
    const vector = await encoder.embed(text, {
      ...this.common(),
      ...(this.options.queryPrompt === undefined ? {} : { prompt: this.options.queryPrompt }),
      ...(this.options.queryPromptName === undefined ? {} : { promptName: this.options.queryPromptName }),
    });
    return Array.from(vector);
  }

  private common(): { batchSize?: number; normalize?: boolean } {
    return {
      ...(this.options.batchSize === undefined ? {} : { batchSize: this.options.batchSize }),
      ...(this.options.normalize === undefined ? {} : { normalize: this.options.normalize }),
    };
  }

  private encoder(): Promise<SentenceEncoder> {
    if (this.encoderPromise === null) {
      const source = this.options.encoder;
      this.encoderPromise = Promise.resolve(typeof source === 'function' ? source() : source);
      // A failed load is not cached: the next call tries again.
      this.encoderPromise.catch(() => {
        this.encoderPromise = null;
      });
    }
    return this.encoderPromise;
  }
}
