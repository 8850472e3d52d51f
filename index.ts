// Pulumi entry point: every property of the exported object becomes a stack output.
import { runProgram } from './program';

export = runProgram();
