/**
 * Typed configuration from the environment, one model per concern (Postgres,
 * Redis, Kafka, mail, …: `config/*.ts` here, and each deployable's own in its
 * `src/env.ts`). A process composes only the models it reads into one nested,
 * camelCase config, validated once at boot: every problem of every model is
 * reported together and the process refuses to start.
 */
import { resolve } from 'node:path';
import { z } from 'zod';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** An empty value counts as unset (`KAFKA_BROKERS=` in a compose file). */
export const unsetIfEmpty = (value: unknown) => (value === '' ? undefined : value);

/** An optional URL setting; an empty value counts as unset. */
export const ZOptionalUrlSchema = z.preprocess(unsetIfEmpty, z.string().url().optional());

/** What every model may need besides its own variables: the `server` model's values. */
export interface ConfigContext {
  nodeEnv: 'development' | 'test' | 'production';
  production: boolean;
  /** DATA_DIR, resolved. */
  dataDir: string;
  /** Where this process listens (PORT). */
  port: number;
  /**
   * No DATABASE_URL: this process keeps its data alone in DATA_DIR (the
   * embedded default), the only case where development secrets may be made up.
   */
  embedded: boolean;
}

/**
 * One concern's variables and the config built from them.
 * @example
 * const RedisModel = defineConfigModel({
 *   title: 'Redis',
 *   variables: z.object({ REDIS_URL: ZOptionalUrlSchema.describe('…') }),
 *   read: ({ REDIS_URL }) => (REDIS_URL ? { url: REDIS_URL } : null),
 * });
 */
export interface ConfigModel<V extends z.ZodObject = z.ZodObject, T = unknown> {
  /** What it configures, as the README's variable table heads it. */
  title: string;
  /** Where the decisions behind these settings are written, from the repository root (the README links it). */
  docs?: string;
  /** Every variable, each with `.describe()` (the README's table is generated from them) and its default. */
  variables: V;
  /**
   * Builds this concern's config from its parsed variables. A problem only the
   * values together show (a user name without a password) goes into `problems`
   * as `NAME: what is wrong`, never quoting a secret.
   */
  read(values: z.output<V>, context: ConfigContext, problems: string[]): T;
}

/** Declares a model (identity at run time; infers the config's type). */
export function defineConfigModel<V extends z.ZodObject, T>(model: ConfigModel<V, T>): ConfigModel<V, T> {
  return model;
}

export type ConfigModels = Record<string, ConfigModel<z.ZodObject, unknown>>;

/** The config a set of models composes to: one camelCase section per model, under the model's key. */
export type ConfigOf<M extends ConfigModels> = { [K in keyof M]: ReturnType<M[K]['read']> };

export const NODE_ENVS = ['development', 'test', 'production'] as const;

/** Where and how the process runs; every composition has it, as `server`. */
export const ServerModel = defineConfigModel({
  title: 'Process',
  variables: z.object({
    NODE_ENV: z
      .enum(NODE_ENVS)
      .default('development')
      .describe(
        '`production`: GraphiQL and introspection off; every secret and store credential required. `test`: ' +
          'counting limits off unless set',
      ),
    HOST: z.string().default('127.0.0.1').describe('The address the process listens on'),
    PORT: z.coerce
      .number()
      .int()
      .min(0)
      .max(65535)
      .default(4000)
      .describe(
        'Where the process listens: the gateway 4000, the subgraphs 4001–4005 (users, chats, messages, presence, ' +
          'media)',
      ),
    DATA_DIR: z
      .string()
      .default('./.data')
      .describe('The embedded mode keeps its database (PGlite) and generated secrets here; one process per directory'),
  }),
  read: (values) => ({
    nodeEnv: values.NODE_ENV,
    production: values.NODE_ENV === 'production',
    host: values.HOST,
    port: values.PORT,
    dataDir: resolve(values.DATA_DIR),
  }),
});

export type ServerConfig = ReturnType<(typeof ServerModel)['read']>;

/** A composed config: the models' sections, and always `server`. */
export type LoadedConfig<M extends ConfigModels> = ConfigOf<M> & { server: ServerConfig };

/**
 * Parses `env` with every model of `models` (and the `server` model), then
 * builds each model's section.
 * @throws ConfigError listing every problem of every model, one line each.
 */
export function loadConfig<M extends ConfigModels>(models: M, env: NodeJS.ProcessEnv = process.env): LoadedConfig<M> {
  const problems: string[] = [];
  const parse = <V extends z.ZodObject>(model: ConfigModel<V, unknown>): z.output<V> | undefined => {
    const result = model.variables.safeParse(env);
    if (result.success) return result.data;
    problems.push(...result.error.issues.map((issue) => `${issue.path.join('.') || '(env)'}: ${issue.message}`));
    return undefined;
  };
  const serverValues = parse(ServerModel);
  const context = configContext(env);
  const config: Record<string, unknown> = {};
  if (serverValues && context) config.server = ServerModel.read(serverValues, context, []);
  for (const [key, model] of Object.entries(models)) {
    if (model === ServerModel) continue;
    const values = parse(model);
    // Without a valid NODE_ENV and DATA_DIR, what the values mean together (secrets, credentials) is unknown.
    if (values !== undefined && context) config[key] = model.read(values, context, problems);
  }
  if (problems.length > 0)
    throw new ConfigError(`Invalid configuration:\n${problems.map((line) => `  ${line}`).join('\n')}`);
  return config as LoadedConfig<M>;
}

/**
 * The context from the `server` variables, each valid one as given (a bad PORT
 * takes its default); undefined without a valid NODE_ENV and DATA_DIR.
 */
function configContext(env: NodeJS.ProcessEnv): ConfigContext | undefined {
  const shape = ServerModel.variables.shape;
  const nodeEnv = shape.NODE_ENV.safeParse(env.NODE_ENV);
  const dataDir = shape.DATA_DIR.safeParse(env.DATA_DIR);
  if (!nodeEnv.success || !dataDir.success) return undefined;
  const port = shape.PORT.safeParse(env.PORT);
  return {
    nodeEnv: nodeEnv.data,
    production: nodeEnv.data === 'production',
    dataDir: resolve(dataDir.data),
    port: port.success ? port.data : shape.PORT.parse(undefined),
    // DATABASE_URL belongs to the database model; whether it is set decides what secrets may be generated.
    embedded: !env.DATABASE_URL,
  };
}

/** One documented variable of a model: its name, default and description. */
export interface VariableDoc {
  name: string;
  /** The default as an operator writes it; undefined when unset means off, or a default the description gives. */
  defaultValue: string | undefined;
  description: string;
}

/** The variables of `model`, in declaration order, for the README's table. */
export function describeVariables(model: ConfigModel): VariableDoc[] {
  return Object.entries(model.variables.shape as Record<string, z.ZodType>).map(([name, schema]) => {
    const parsed = schema.safeParse(undefined);
    const value = parsed.success ? parsed.data : undefined;
    return {
      name,
      defaultValue: value === undefined ? undefined : spelled(value),
      description: schema.description ?? '',
    };
  });
}

/** A default as the docs show it: an object (a parsed setting) as JSON, anything else as String() spells it. */
const spelled = (value: unknown): string =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? JSON.stringify(value)
    : String(value as string);

/** A comma-separated list, trimmed, without empty items. */
export const commaList = (value: string): string[] =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
