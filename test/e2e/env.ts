// e2e tests run against the real-node cluster (test/support/cluster.ts reads this).
process.env.WEBSTACK_TEST_CLUSTER = 'real';
