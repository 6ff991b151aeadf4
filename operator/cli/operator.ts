#!/usr/bin/env node
/**
 * The operator process: configuration from flags and environment (see --help), then run until
 * SIGTERM/SIGINT, when the lease is released and in-flight reconciles finish before exit.
 */
import { ConfigError, configUsage, parseConfig } from '../runtime/config.js';
import { createLogger } from '../runtime/logger.js';
import { startOperator } from '../main.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(configUsage());
    return;
  }
  let config;
  try {
    config = parseConfig(argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n\n${configUsage()}`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger({ level: config.logLevel });
  const operator = await startOperator({
    config,
    logger,
    ...(process.env.WEBSTACK_AGENT_NAMESPACE ? { agentNamespace: process.env.WEBSTACK_AGENT_NAMESPACE } : {}),
    // Losing the lease after leading means another replica may already act: exit and let the
    // Deployment restart us as a fresh follower, as controller-runtime does.
    onLostLeadership: () => process.exit(1),
  });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    operator.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err: String(err) }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`webstack-operator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
