// Where bench/unseen.ts keeps its section inside bench/ACCURACY.md, so that bench/accuracy.ts --report keeps it.
export const UNSEEN_START = '<!-- bench/unseen.ts: start -->'
export const UNSEEN_END = '<!-- bench/unseen.ts: end -->'
