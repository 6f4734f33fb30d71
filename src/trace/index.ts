/**
 * Looking inside one forward pass: trace a sentence stage by stage (trace.ts), summarise tensors
 * (stats.ts), compare a trace with a reference dump (compare.ts), and print either (format.ts).
 * Runtime-neutral: everything returns plain data or strings; the CLI command reads files.
 */
export { tensorStats, type TensorStats } from './stats.ts';
export {
  traceSentence, TRACE_FORMAT,
  type SentenceTrace, type TraceInput, type TraceOptions, type StageSummary, type LayerAttention, type AttentionLink, type HeadFocus,
} from './trace.ts';
export {
  compareTrace, parseReferenceDump, referenceSequence, DEFAULT_TOLERANCES, TraceReferenceError,
  type ReferenceDump, type Tolerances, type ComparisonReport, type StageDifference, type StageStatus,
} from './compare.ts';
export { formatTrace, formatComparison, formatNumber, traceToJson, type FormatOptions } from './format.ts';
