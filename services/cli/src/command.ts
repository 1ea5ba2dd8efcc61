/** The shape every `strata` command has, and what it receives. */
import type { ClientTls } from '@strata/client';
import type { OptionSpecs, OptionValues } from './args.js';
import type { BrokerClient } from './broker-client.js';
import type { CliIo } from './io.js';

export interface CommandContext {
  io: CliIo;
  /** Options (the command's and the global ones) after a strict parse. */
  values: OptionValues;
  positionals: string[];
  /** The arguments after the command words, unparsed (`serve` hands them to loadConfig). */
  rawArgs: string[];
  brokerUrl: string;
  /** TLS for an https:// broker (STRATA_CA_FILE, STRATA_CLIENT_CERT_FILE, STRATA_CLIENT_KEY_FILE); undefined: Node's defaults. */
  tls?: ClientTls;
  /** @strata/client's Admin, one attempt per call (see broker-client.ts). */
  client: BrokerClient;
}

export interface Command {
  /** 'produce', 'topics create', ... */
  name: string;
  summary: string;
  /** Usage line without the leading 'strata '. */
  usage: string;
  /** Longer description printed by --help (optional). */
  description?: string;
  options: OptionSpecs;
  /** [flag with its argument, explanation] rows for --help. */
  optionHelp: Array<[string, string]>;
  examples: string[];
  minPositionals: number;
  maxPositionals: number;
  /** Name the missing positional in the usage error. */
  positionalNames: string[];
  /** Options are not parsed here but handed over raw (`serve` → loadConfig). */
  passThrough?: boolean;
  /** Takes --broker (the commands that talk to a broker). */
  usesBroker: boolean;
  run(ctx: CommandContext): Promise<number>;
}
