// `npm run bench`: throughput against a plain BullMQ worker, latency, and the end-of-year award
// peak under the rate limit. Not built yet: it comes with its own issue.
console.log("npm run bench: the benchmarks are not built yet (planned: throughput vs a plain BullMQ worker, latency, award peak).");
