/**
 * TypeScript shapes for the subset of the Amazon States Language (JSONPath flavour)
 * our state machines use. They exist so a misspelt field or a missing transition is
 * a compile error; `validateDefinition` checks what types cannot (targets exist,
 * paths parse, ...).
 */

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** A payload template: keys ending in `.$` hold a path, the others a literal. */
export type PayloadTemplate = JsonObject;

/** Exactly one of `Next` / `End` (Choice, Succeed and Fail have neither). */
export type Transition = { Next: string; End?: never } | { End: true; Next?: never };

export interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  /** Caps the exponential backoff (seconds). */
  MaxDelaySeconds?: number;
  /** FULL spreads retries of many executions instead of retrying them in lock-step. */
  JitterStrategy?: 'FULL' | 'NONE';
}

export interface Catcher {
  ErrorEquals: string[];
  Next: string;
  ResultPath?: string | null;
}

interface StateBase {
  Comment?: string;
}

interface InputOutputPaths {
  InputPath?: string | null;
  OutputPath?: string | null;
}

interface ResultHandling {
  ResultSelector?: PayloadTemplate;
  ResultPath?: string | null;
}

interface ErrorHandling {
  Retry?: Retrier[];
  Catch?: Catcher[];
}

export type TaskState = StateBase &
  InputOutputPaths &
  ResultHandling &
  ErrorHandling &
  Transition & {
    Type: 'Task';
    Resource: string;
    Parameters?: PayloadTemplate;
    TimeoutSeconds?: number;
    TimeoutSecondsPath?: string;
    HeartbeatSeconds?: number;
    HeartbeatSecondsPath?: string;
  };

/** Comparison operators of a Choice data-test expression (one per expression). */
export interface ChoiceComparison {
  Variable: string;
  StringEquals?: string;
  StringEqualsPath?: string;
  StringMatches?: string;
  NumericEquals?: number;
  NumericEqualsPath?: string;
  NumericLessThan?: number;
  NumericGreaterThan?: number;
  NumericLessThanEquals?: number;
  NumericGreaterThanEquals?: number;
  BooleanEquals?: boolean;
  IsPresent?: boolean;
  IsNull?: boolean;
  IsNumeric?: boolean;
  IsString?: boolean;
  IsBoolean?: boolean;
}

export type ChoiceCondition =
  ChoiceComparison | { And: ChoiceCondition[] } | { Or: ChoiceCondition[] } | { Not: ChoiceCondition };

export type ChoiceRule = ChoiceCondition & { Next: string };

export type ChoiceState = StateBase &
  InputOutputPaths & {
    Type: 'Choice';
    Choices: ChoiceRule[];
    Default?: string;
  };

export type WaitState = StateBase &
  InputOutputPaths &
  Transition & {
    Type: 'Wait';
    Seconds?: number;
    SecondsPath?: string;
    Timestamp?: string;
    TimestampPath?: string;
  };

export type PassState = StateBase &
  InputOutputPaths &
  Transition & {
    Type: 'Pass';
    Parameters?: PayloadTemplate;
    Result?: JsonValue;
    ResultPath?: string | null;
  };

export type SucceedState = StateBase &
  InputOutputPaths & {
    Type: 'Succeed';
  };

export type FailState = StateBase & {
  Type: 'Fail';
  Error?: string;
  ErrorPath?: string;
  Cause?: string;
  CausePath?: string;
};

/** The states of a Map iteration or a Parallel branch. */
export interface NestedStateMachine {
  Comment?: string;
  StartAt: string;
  States: Record<string, State>;
}

export interface InlineProcessorConfig {
  Mode: 'INLINE';
}

export interface DistributedProcessorConfig {
  Mode: 'DISTRIBUTED';
  ExecutionType: 'EXPRESS' | 'STANDARD';
}

export interface ItemProcessor extends NestedStateMachine {
  ProcessorConfig?: InlineProcessorConfig | DistributedProcessorConfig;
}

export interface ItemReader {
  /** e.g. `arn:aws:states:::s3:getObject` */
  Resource: string;
  ReaderConfig?: {
    InputType?: 'CSV' | 'JSON' | 'JSONL' | 'MANIFEST';
    CSVHeaderLocation?: 'FIRST_ROW' | 'GIVEN';
    CSVHeaders?: string[];
    CSVDelimiter?: 'COMMA' | 'PIPE' | 'SEMICOLON' | 'SPACE' | 'TAB';
    MaxItems?: number;
  };
  Parameters?: PayloadTemplate;
}

export interface ItemBatcher {
  MaxItemsPerBatch?: number;
  MaxInputBytesPerBatch?: number;
  BatchInput?: PayloadTemplate;
}

export interface ResultWriter {
  /** e.g. `arn:aws:states:::s3:putObject` */
  Resource: string;
  Parameters?: PayloadTemplate;
}

export type MapState = StateBase &
  InputOutputPaths &
  ResultHandling &
  ErrorHandling &
  Transition & {
    Type: 'Map';
    ItemsPath?: string;
    ItemSelector?: PayloadTemplate;
    ItemProcessor?: ItemProcessor;
    /** Pre-2023 name of ItemProcessor; read by the walker, not produced by our builders. */
    Iterator?: NestedStateMachine;
    /** 0 means "unlimited" in ASL: our builders never emit it. */
    MaxConcurrency?: number;
    ItemReader?: ItemReader;
    ItemBatcher?: ItemBatcher;
    ResultWriter?: ResultWriter;
    ToleratedFailurePercentage?: number;
    ToleratedFailureCount?: number;
    /** Distributed Map only: prefix of the child execution names. */
    Label?: string;
  };

export type ParallelState = StateBase &
  InputOutputPaths &
  ResultHandling &
  ErrorHandling &
  Transition & {
    Type: 'Parallel';
    Branches: NestedStateMachine[];
    Parameters?: PayloadTemplate;
  };

export type State =
  TaskState | ChoiceState | WaitState | PassState | SucceedState | FailState | MapState | ParallelState;

export interface StateMachineDefinition extends NestedStateMachine {
  /** Machine-level limit for a whole execution, in seconds. */
  TimeoutSeconds?: number;
  Version?: '1.0';
}
