import assert from 'node:assert/strict';
import { forEachState } from '../../components/asl/walk';
import { buildCommandDefinition, buildImportCsvDefinition } from '../../components/workflows';

describe("service integrations follow the functions' partition", () => {
  it('names arn:aws-us-gov:states:::… for GovCloud functions', () => {
    const gov = (name: string) => `arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:${name}`;
    const defs = [
      buildCommandDefinition({
        commandStepArn: gov('cmd'),
        syncTargets: [],
        waitTimeoutSeconds: 600,
        waitHeartbeatSeconds: 60,
        syncMaxConcurrency: 2,
      }),
      buildImportCsvDefinition({
        importCsvStepArn: gov('csv'),
        resultBucket: 'gov-imports',
        maxItemsPerBatch: 10,
        toleratedFailurePercentage: 0,
      }),
    ];
    const resources: string[] = [];
    for (const def of defs) {
      forEachState(def, (_name, state) => {
        if (state.Type === 'Task') resources.push(state.Resource);
        if (state.Type === 'Map' && state.ItemReader)
          resources.push(state.ItemReader.Resource, state.ResultWriter?.Resource ?? '');
      });
    }
    assert.ok(resources.length > 10);
    for (const r of resources) assert.match(r, /^arn:aws-us-gov:states:::/);
  });
});

describe('import-csv batch byte bound', () => {
  it("rejects a MaxInputBytesPerBatch that could push the child's payload over 256 KiB, or the seed's 10 bytes", () => {
    const base = {
      importCsvStepArn: 'arn:aws:lambda:eu-west-1:123456789012:function:csv',
      resultBucket: 'imports-bucket',
      maxItemsPerBatch: 1000,
      toleratedFailurePercentage: 0,
    };
    assert.throws(
      () => buildImportCsvDefinition({ ...base, maxInputBytesPerBatch: 200 * 1024 }),
      /maxInputBytesPerBatch/,
    );
    assert.throws(() => buildImportCsvDefinition({ ...base, maxInputBytesPerBatch: 10 }), /maxInputBytesPerBatch/);
    assert.doesNotThrow(() => buildImportCsvDefinition({ ...base, maxInputBytesPerBatch: 64 * 1024 }));
  });
});
