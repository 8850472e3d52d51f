import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { CONFIG_SCHEMA, ConfigError, loadStackSettings } from '../../components/stack-config';
import { pulumiYamlConfig, readmeTable } from '../../scripts/config-reference';
import { readStackConfig } from '../../scripts/synth/run-program';
import { synthProgram, ROOT } from '../support/synth';
import { runProgram } from '../../program';

function load(values: Record<string, string>, stack = 'dev') {
  return loadStackSettings(stack, (k) => values[k], Object.keys(values));
}

function problemsOf(values: Record<string, string>): string[] {
  try {
    load(values);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return e.problems;
  }
  assert.fail(`expected ${JSON.stringify(values)} to be rejected`);
}

describe('stack configuration', () => {
  it('fills every default and derives the prefix from the stack', () => {
    const s = load({}, 'Feature_Branch');
    assert.equal(s.prefix, 'cqrs-feature-branch');
    for (const [key, spec] of Object.entries(CONFIG_SCHEMA)) {
      assert.deepEqual((s as unknown as Record<string, unknown>)[key], spec.default, key);
    }
  });

  const bad: [string, string, RegExp][] = [
    ['namePrefix', 'Bad--Prefix', /cqrs-workflows:namePrefix = "Bad--Prefix": must start with a lowercase letter/],
    ['deletionProtection', 'yes', /cqrs-workflows:deletionProtection = "yes": must be true or false/],
    ['protectData', '1', /cqrs-workflows:protectData = "1": must be true or false/],
    ['logRetentionDays', '10', /cqrs-workflows:logRetentionDays = "10": must be one of 1, 3, 5, 7, 14/],
    ['stateMachineLogLevel', 'OFF', /cqrs-workflows:stateMachineLogLevel = "OFF": must be one of ALL, ERROR, FATAL/],
    ['includeExecutionData', 'maybe', /includeExecutionData = "maybe": must be true or false/],
    ['alarmEmails', 'oncall@example.com', /alarmEmails = "oncall@example.com": must be a list of strings/],
    ['alarmEmails', '["not-an-email"]', /alarmEmails item "not-an-email" is not an e-mail address/],
    ['maxReceiveCount', '1', /maxReceiveCount = "1": must be from 2 to 1000/],
    ['lambdaMemoryMb', '64', /lambdaMemoryMb = "64": must be from 128 to 10240/],
    ['streamMaxRetryAttempts', '-1', /streamMaxRetryAttempts = "-1": must be from 0 to 10/],
    ['commandWaitTimeoutSeconds', '1.5', /commandWaitTimeoutSeconds = "1.5": must be a whole number/],
    ['commandPath', 'FAST', /commandPath = "FAST": must be one of EXPRESS, STANDARD/],
    ['commandWaitHeartbeatSeconds', '5', /commandWaitHeartbeatSeconds = "5": must be from 10/],
    ['commandMaxWaitSeconds', 'abc', /commandMaxWaitSeconds = "abc": must be a whole number/],
    ['commandTtlDays', '0', /commandTtlDays = "0": must be from 1 to 3650/],
    ['syncMaxConcurrency', '0', /syncMaxConcurrency = "0": must be from 1 to 40/],
    ['taskMaxConcurrency', '100', /taskMaxConcurrency = "100": must be from 1 to 40/],
    ['taskTimeoutSeconds', '10', /taskTimeoutSeconds = "10": must be from 60/],
    ['importMaxItemsPerBatch', '0', /importMaxItemsPerBatch = "0": must be from 1 to 1000/],
    ['importMaxConcurrency', '0', /importMaxConcurrency = "0": must be from 1 to 1000/],
    ['importToleratedFailurePercentage', '101', /importToleratedFailurePercentage = "101": must be from 0 to 100/],
    ['zipChildTimeoutSeconds', '30', /zipChildTimeoutSeconds = "30": must be from 60/],
    ['directImportMaxBytes', '-5', /directImportMaxBytes = "-5": must be from 0/],
    ['importResultRetentionDays', '', /importResultRetentionDays = "": must be a whole number/],
    ['dashboard', 'on', /cqrs-workflows:dashboard = "on": must be true or false/],
    ['queueRetentionDays', '14', /queueRetentionDays = "14": must be from 1 to 13/],
    ['importUploadRetentionDays', '-1', /importUploadRetentionDays = "-1": must be from 0 to 3650/],
    ['importRecordRetentionDays', '0', /importRecordRetentionDays = "0": must be from 1 to 3650/],
    ['zipMaxEntries', '0', /zipMaxEntries = "0": must be from 1 to 100000/],
    ['zipMaxFiles', '1465', /zipMaxFiles = "1465": must be from 1 to 1464/],
    ['zipMaxUncompressedBytes', '0', /zipMaxUncompressedBytes = "0": must be from 1/],
    ['zipMaxCompressionRatio', '0', /zipMaxCompressionRatio = "0": must be from 1 to 10000/],
    ['importAccessLogging', 'on', /importAccessLogging = "on": must be true or false/],
  ];
  for (const [key, value, message] of bad) {
    it(`rejects ${key} = ${JSON.stringify(value)} naming the key, the value and what is allowed`, () => {
      const problems = problemsOf({ [key]: value });
      assert.equal(problems.length, 1, problems.join('\n'));
      assert.match(problems[0], message);
    });
  }

  it('covers every key of the schema with a rejection case', () => {
    const tested = new Set(bad.map(([k]) => k));
    for (const key of Object.keys(CONFIG_SCHEMA)) assert.ok(tested.has(key), `no rejection test for ${key}`);
  });

  it('rejects a heartbeat that is not below the timeout, and a total wait shorter than one wait', () => {
    assert.match(
      problemsOf({ commandWaitTimeoutSeconds: '600', commandWaitHeartbeatSeconds: '600' })[0],
      /commandWaitHeartbeatSeconds = 600: must be below commandWaitTimeoutSeconds \(600\)/,
    );
    assert.match(
      problemsOf({ commandWaitTimeoutSeconds: '7200', commandMaxWaitSeconds: '3600' })[0],
      /commandMaxWaitSeconds = 3600: must be at least commandWaitTimeoutSeconds \(7200\)/,
    );
  });

  it('issue 9 item 15: accepts plain integers only (no exponent, hex, sign, padding or leading zeros)', () => {
    for (const raw of ['1e3', '0x10', ' 7 ', '+7', '7.0', '007', '1_000', '']) {
      const problems = problemsOf({ maxReceiveCount: raw });
      assert.equal(problems.length, 1, raw);
      assert.match(problems[0], /maxReceiveCount = .*: must be a whole number/, raw);
    }
    assert.equal(load({ maxReceiveCount: '7', streamMaxRetryAttempts: '0' }).maxReceiveCount, 7);
  });

  it('issue 9 item 15: validates related keys together (redeliveries must fit inside queue retention; files within entries)', () => {
    // import-action's visibility timeout is 6 × its consumer's 900 s: 5,400 s per delivery
    assert.match(
      problemsOf({ maxReceiveCount: '1000' })[0],
      /maxReceiveCount = 1000: 1000 deliveries × 5400 s visibility timeout \(import-action\) = 5400000 s, longer than queueRetentionDays \(4 days = 345600 s\): a failing message would expire before it reaches its dead-letter queue/,
    );
    assert.match(problemsOf({ maxReceiveCount: '20', queueRetentionDays: '1' })[0], /20 deliveries × 5400 s/);
    assert.equal(load({ maxReceiveCount: '64' }).maxReceiveCount, 64, '64 × 5,400 s fits in 4 days');
    assert.equal(load({ maxReceiveCount: '200', queueRetentionDays: '13' }).queueRetentionDays, 13);
    assert.match(
      problemsOf({ zipMaxEntries: '100', zipMaxFiles: '200' })[0],
      /zipMaxFiles = 200: must not exceed zipMaxEntries \(100\)/,
    );
    // 0 is a meaningful value: never DIRECT
    assert.equal(load({ directImportMaxBytes: '0' }).directImportMaxBytes, 0);
  });

  it('issue 9 item 17: logs at ERROR without execution data unless a stack opts in', () => {
    const s = load({});
    assert.equal(s.stateMachineLogLevel, 'ERROR');
    assert.equal(s.includeExecutionData, false);
  });

  it('rejects a misspelt key instead of ignoring it', () => {
    assert.match(problemsOf({ logRetentionDay: '14' })[0], /cqrs-workflows:logRetentionDay is not a known setting/);
  });

  it('reports every bad key at once', () => {
    assert.equal(problemsOf({ maxReceiveCount: '0', lambdaMemoryMb: '1', protectData: 'no' }).length, 3);
  });

  it('fails the program before any resource is registered', async () => {
    const config = { ...readStackConfig(ROOT, 'dev'), 'cqrs-workflows:taskMaxConcurrency': '0' };
    const result = await synthProgram('dev', runProgram, { config });
    assert.equal(result.resources.length, 0);
    assert.equal(result.errors.length, 1);
    assert.match(result.errors[0].message, /cqrs-workflows:taskMaxConcurrency = "0": must be from 1 to 40/);
  });

  it('Pulumi.yaml declares every key with its type, description and default', () => {
    const project = YAML.parse(fs.readFileSync(path.join(ROOT, 'Pulumi.yaml'), 'utf8')) as {
      name: string;
      config: unknown;
    };
    assert.equal(project.name, 'cqrs-workflows');
    assert.deepEqual(project.config, pulumiYamlConfig());
  });

  it("README's configuration table is the schema's", () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    assert.ok(
      readme.includes(readmeTable()),
      'README config table is stale: run `npx tsx scripts/config-reference.ts --write`',
    );
  });

  for (const stack of ['dev', 'prod']) {
    it(`Pulumi.${stack}.yaml is valid`, () => {
      const raw = readStackConfig(ROOT, stack);
      const ns = 'cqrs-workflows:';
      const values = Object.fromEntries(
        Object.entries(raw)
          .filter(([k]) => k.startsWith(ns))
          .map(([k, v]) => [k.slice(ns.length), v]),
      );
      const s = loadStackSettings(stack, (k) => values[k], Object.keys(values));
      assert.equal(s.prefix, `cqrs-${stack}`);
      if (stack === 'prod') {
        assert.equal(s.deletionProtection, true);
        assert.equal(s.protectData, true);
        assert.ok(s.logRetentionDays >= 365);
        assert.ok(s.alarmEmails.length > 0);
        assert.equal(s.importAccessLogging, true, 'prod logs every request to the import bucket');
      }
    });
  }
});
