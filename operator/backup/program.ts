/** The programs the backup pod runs (tar, the engines' backup and binary log tools), one way. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

/**
 * A program started with stdin and stdout as asked; `done` rejects with the end of its stderr
 * (what it said last is why it failed) unless it exits 0.
 */
export function started(command: string, args: string[], stdio: ['ignore' | 'pipe', 'ignore' | 'pipe'], env: NodeJS.ProcessEnv = process.env): { child: ChildProcess; done: Promise<void> } {
  const child = spawn(command, args, { env, stdio: [...stdio, 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(command)} exited ${String(code)}: ${stderr.trim()}`))));
  });
  return { child, done };
}
