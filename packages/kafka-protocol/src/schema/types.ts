// The schema model: one declarative description per Kafka message, the way
// Kafka's own message definitions (clients/src/main/resources/common/message/
// in apache/kafka) describe them, from which the interpreter in ../codec builds
// an encoder and a decoder for every version.
//
// Why types are inferred from `as const` schema objects rather than written as
// interfaces beside them: the schema is then the only place a field is named,
// typed and made nullable, so a decoded message's TypeScript type cannot drift
// from the bytes the interpreter reads (STYLE.md: "types written apart from the
// code" is what we avoid). Each message file declares its schema
// `as const satisfies MessageSchema`, and `MessageValue<typeof X>` is the type.
//
// Version ranges are Kafka's strings: "0+", "3-7", "5", "none".

/** Scalars and the variable-length primitives Kafka's message definitions use. */
export type PrimitiveType =
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint16'
  | 'uint32'
  | 'float64'
  | 'bool'
  | 'string'
  | 'bytes'
  | 'records'
  | 'uuid';

/** A primitive, an array of a primitive (`[]int32`), a struct, or an array of structs. */
export type FieldType = PrimitiveType | `[]${PrimitiveType}` | 'struct' | '[]struct';

export type DefaultValue = number | bigint | string | boolean | null;

export interface FieldSchema {
  readonly name: string;
  readonly type: FieldType;
  /** The versions the field exists in. */
  readonly versions: string;
  readonly nullableVersions?: string;
  /** In these (flexible) versions the field travels in the tagged-field section, under `tag`. */
  readonly taggedVersions?: string;
  readonly tag?: number;
  /** Kafka's default: what a decoder sets when the field is absent, what an encoder may omit. */
  readonly default?: DefaultValue;
  /**
   * Kafka's `ignorable`: a non-default value for this field may be dropped when
   * encoding a version that lacks the field. A non-ignorable one is an error.
   */
  readonly ignorable?: boolean;
  /** Only "none": a string that stays non-compact in flexible versions (the request header's client id). */
  readonly flexibleVersions?: 'none';
  /** The fields of a struct, or of each element of an array of structs. */
  readonly fields?: readonly FieldSchema[];
}

export type MessageKind = 'request' | 'response' | 'header';

export interface MessageSchema {
  readonly name: string;
  /** Kafka's API key; -1 for the headers. */
  readonly apiKey: number;
  readonly kind: MessageKind;
  readonly validVersions: string;
  readonly flexibleVersions: string;
  readonly fields: readonly FieldSchema[];
}

// ---- The TypeScript types a schema implies -------------------------------------------------

/**
 * How each primitive looks in process. int64 is a bigint: Kafka carries
 * producer ids, offsets and timestamps (and sentinels up to Long.MAX_VALUE) in
 * it, and a decoder must not round or refuse a value a client may legitimately
 * send; callers convert to Strata's numbers where they check the range. A uuid is
 * Kafka's textual form (base64url, 22 characters), a usable map key. `bytes`
 * and `records` are slices of the decoded frame (no copy).
 */
export interface PrimitiveValues {
  int8: number;
  int16: number;
  int32: number;
  int64: bigint;
  uint16: number;
  uint32: number;
  float64: number;
  bool: boolean;
  string: string;
  bytes: Buffer;
  records: Buffer;
  uuid: string;
}

type Simplify<T> = { [K in keyof T]: T[K] } & {};

type BaseValue<F extends FieldSchema> = F extends { type: 'struct'; fields: infer S extends readonly FieldSchema[] }
  ? StructValue<S>
  : F extends { type: '[]struct'; fields: infer S extends readonly FieldSchema[] }
    ? StructValue<S>[]
    : F['type'] extends `[]${infer P extends PrimitiveType}`
      ? PrimitiveValues[P][]
      : F['type'] extends PrimitiveType
        ? PrimitiveValues[F['type']]
        : never;

type FieldValue<F extends FieldSchema> = F extends { nullableVersions: string } ? BaseValue<F> | null : BaseValue<F>;

/** A decoded struct: every field, in every version (absent ones hold their default). */
export type StructValue<S extends readonly FieldSchema[]> = Simplify<{ [F in S[number] as F['name']]: FieldValue<F> }>;

/** A decoded message. */
export type MessageValue<M extends MessageSchema> = StructValue<M['fields']>;

type BaseInput<F extends FieldSchema> = F extends { type: 'struct'; fields: infer S extends readonly FieldSchema[] }
  ? StructInput<S>
  : F extends { type: '[]struct'; fields: infer S extends readonly FieldSchema[] }
    ? readonly StructInput<S>[]
    : F['type'] extends `[]${infer P extends PrimitiveType}`
      ? readonly PrimitiveValues[P][]
      : F['type'] extends PrimitiveType
        ? PrimitiveValues[F['type']]
        : never;

type FieldInput<F extends FieldSchema> = F extends { nullableVersions: string } ? BaseInput<F> | null : BaseInput<F>;

/**
 * A field an encoder cannot do without: present in every version, with no
 * default and not tagged. Every other field may be omitted (it takes its default).
 */
type IsRequired<F extends FieldSchema> = F extends { versions: '0+' }
  ? F extends { default: DefaultValue } | { tag: number }
    ? false
    : true
  : false;

/** What an encoder accepts: the required fields, and any others that differ from their default. */
export type StructInput<S extends readonly FieldSchema[]> = Simplify<
  { [F in S[number] as IsRequired<F> extends true ? F['name'] : never]: FieldInput<F> } & {
    [F in S[number] as IsRequired<F> extends true ? never : F['name']]?: FieldInput<F>;
  }
>;

/** What an encoder accepts for a message. */
export type MessageInput<M extends MessageSchema> = StructInput<M['fields']>;
