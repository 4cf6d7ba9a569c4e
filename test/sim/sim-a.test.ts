// First half of the simulator's seeds (see seeds.ts).
import { registerSeedTests } from './seeds.js';

registerSeedTests(0, 2);
