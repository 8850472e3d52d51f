import { strict as assert } from 'node:assert';
import { validateDefinition } from '../../components/asl/validate';
import { UNKNOWN } from '../../scripts/synth/run-program';
import { ofType, STACK_VARIANTS, synthVariant, T } from '../support/synth';

for (const variant of STACK_VARIANTS) {
  describe(`stack ${variant.label} in preview mode with every resource output unknown`, () => {
    it('still knows every state machine definition, and nothing else that comes from a resource', async () => {
      const result = await synthVariant(variant, { preview: true, unknownOutputs: true });
      assert.deepEqual(
        result.errors.map((e) => e.message),
        [],
      );
      const machines = ofType(result.resources, T.stateMachine);
      assert.deepEqual(
        machines.map((m) => m.inputs.name).sort(),
        variant.machines.map((k) => `${variant.prefix}-${k}`).sort(),
      );
      for (const m of machines) {
        // The mocks really hid the outputs: the role ARN, a resource output, is unknown.
        assert.equal(m.inputs.roleArn, UNKNOWN, `${String(m.inputs.name)}: roleArn should be unknown in this mode`);
        assert.equal(typeof m.inputs.definition, 'string', `${String(m.inputs.name)}: definition unknown at preview`);
        const def = JSON.parse(m.inputs.definition as string);
        validateDefinition(String(m.inputs.name), def);
        assert.ok(!(m.inputs.definition as string).includes(UNKNOWN), 'no unknown sentinel inside');
      }
    });
  });
}
