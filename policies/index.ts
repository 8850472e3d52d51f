import { PolicyPack } from '@pulumi/policy';
import { allPolicies } from './rules';

new PolicyPack('cqrs-workflows', { policies: allPolicies });
