await import('@kubernetes/client-node');
globalThis.gc?.();
const r = process.memoryUsage();
console.log('@kubernetes/client-node'.padEnd(60), 'rss', (r.rss / 2 ** 20).toFixed(0), 'heapUsed', (r.heapUsed / 2 ** 20).toFixed(0), 'external', (r.external / 2 ** 20).toFixed(0));
