/**
 * `webstack render`: prints the objects the operator would apply for WebStack YAML, without a
 * cluster, for GitOps review and debugging. The same validation (schema + offline CEL rules),
 * defaults and render() as the operator, so what it prints is what the controller applies, except
 * for what only the cluster knows (discovery facts are flags; Secret versions are unknown).
 *
 *   webstack render -f stack.yaml [-o yaml|json] [-n namespace] [--no-cert-manager] [--no-prometheus-operator]
 */
import { readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { withDefaults } from '../api/defaults.js';
import type { WebStack } from '../api/types.js';
import { validateWebStack } from '../api/validate.js';
import { render, type KubeObject } from '../render/index.js';

const USAGE = `Usage: webstack render -f FILE [-o yaml|json] [-n NAMESPACE] [--agent-namespace NAME]
                       [--no-cert-manager] [--no-prometheus-operator]

Prints the Kubernetes objects the operator creates for each WebStack in FILE ("-" for stdin).
  -f, --filename            WebStack YAML or JSON; several documents are rendered in turn
  -o, --output              yaml (default: multi-document) or json (a v1 List)
  -n, --namespace           namespace of WebStacks that do not set one (default: "default")
      --agent-namespace     namespace of the log agents (default: webstack-system)
      --no-cert-manager     render as if cert-manager were not installed (no Certificates/Issuers)
      --no-prometheus-operator
                            render as if prometheus-operator were not installed (no monitors/rules)
`;

export interface CliIO {
  readFile(path: string): string;
  stdout(text: string): void;
  stderr(text: string): void;
}

const nodeIO: CliIO = {
  readFile: (path) => readFileSync(path === '-' ? 0 : path, 'utf8'),
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** An error the user can fix: printed without a stack trace, exit code 1. */
class UsageError extends Error {}
/** Bad input rather than bad arguments: no usage text after it. */
class InputError extends UsageError {}

interface Options {
  file: string;
  output: 'yaml' | 'json';
  namespace?: string;
  agentNamespace?: string;
  certManager: boolean;
  prometheusOperator: boolean;
}

function parseOptions(argv: string[]): Options | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      filename: { type: 'string', short: 'f' },
      output: { type: 'string', short: 'o', default: 'yaml' },
      namespace: { type: 'string', short: 'n' },
      'agent-namespace': { type: 'string' },
      'no-cert-manager': { type: 'boolean', default: false },
      'no-prometheus-operator': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const [command, ...rest] = positionals;
  if (command !== 'render') throw new UsageError(command === undefined ? 'missing command' : `unknown command "${command}"`);
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest.join(' ')}"`);
  if (values.filename === undefined) throw new UsageError('-f FILE is required');
  if (values.output !== 'yaml' && values.output !== 'json') throw new UsageError(`-o must be yaml or json, not "${values.output}"`);
  return {
    file: values.filename,
    output: values.output,
    ...(values.namespace !== undefined ? { namespace: values.namespace } : {}),
    ...(values['agent-namespace'] !== undefined ? { agentNamespace: values['agent-namespace'] } : {}),
    certManager: !values['no-cert-manager'],
    prometheusOperator: !values['no-prometheus-operator'],
  };
}

/** Parses every document of the file; a YAML syntax error names its line. */
function readDocuments(io: CliIO, file: string): unknown[] {
  let text: string;
  try {
    text = io.readFile(file);
  } catch (error) {
    throw new InputError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const docs = parseAllDocuments(text, { prettyErrors: true });
  if (!Array.isArray(docs)) return []; // an empty stream
  return docs.flatMap((doc, i) => {
    if (doc.errors.length > 0) throw new InputError(`${file}: document ${i + 1}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    return value === null || value === undefined ? [] : [value];
  });
}

function renderFile(io: CliIO, o: Options): KubeObject[] {
  const docs = readDocuments(io, o.file);
  const source = o.file === '-' ? '<stdin>' : o.file;
  if (docs.length === 0) throw new InputError(`${source}: no WebStack found`);
  const problems: string[] = [];
  const stacks = docs.flatMap((doc, i) => {
    const errors = validateWebStack(doc);
    const name = (doc as { metadata?: { name?: unknown } }).metadata?.name;
    const where = `${source}: document ${i + 1}${typeof name === 'string' ? ` (${name})` : ''}`;
    if (errors.length > 0) {
      problems.push(...errors.map((e) => `${where}: ${e.path === '' ? '' : `${e.path}: `}${e.message}`));
      return [];
    }
    // validateWebStack checked the document against the schema, which WebStack mirrors.
    const stack = doc as WebStack;
    const namespace = stack.metadata.namespace ?? o.namespace;
    if (o.namespace !== undefined && namespace !== o.namespace) {
      problems.push(`${where}: metadata.namespace "${namespace ?? ''}" differs from -n "${o.namespace}"`);
      return [];
    }
    return [withDefaults({ ...stack, metadata: { ...stack.metadata, ...(namespace !== undefined ? { namespace } : {}) } })];
  });
  if (problems.length > 0) throw new InputError(`invalid WebStack:\n  ${problems.join('\n  ')}`);
  const facts = {
    certManager: o.certManager,
    prometheusOperator: o.prometheusOperator,
    ...(o.agentNamespace !== undefined ? { agentNamespace: o.agentNamespace } : {}),
  };
  return stacks.flatMap((stack) => render(stack, facts));
}

function format(objects: KubeObject[], output: 'yaml' | 'json'): string {
  if (output === 'json') return JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2) + '\n';
  return objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
}

/** Runs the CLI; returns the exit code. */
export function main(argv: string[], io: CliIO = nodeIO): number {
  try {
    const options = parseOptions(argv);
    if (options === 'help') {
      io.stdout(USAGE);
      return 0;
    }
    io.stdout(format(renderFile(io, options), options.output));
    return 0;
  } catch (error) {
    // parseArgs reports unknown flags with ERR_PARSE_ARGS_* codes: also the user's to fix.
    const code = (error as { code?: unknown }).code;
    if (error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      io.stderr(`webstack: ${(error as Error).message}\n${error instanceof InputError ? '' : `\n${USAGE}`}`);
      return 1;
    }
    throw error;
  }
}

// Run when executed (bin, tsx), not when imported by tests; realpath follows npm's bin symlink.
const invoked = process.argv[1];
if (invoked !== undefined && import.meta.url === pathToFileURL(realpathSync(invoked)).href) {
  // `webstack render ... | head` closes the pipe early; that is not an error worth a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  process.exitCode = main(process.argv.slice(2));
}
