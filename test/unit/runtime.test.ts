/**
 * The Node.js lines Tally runs on are said in four places, for four readers: src/cli/runtime.ts (the process and the
 * test suite refuse any other), package.json's engines (npm, with engine-strict), .node-version (scripts/node.sh,
 * nvm, fnm) and the Dockerfile (the image). They must say the same.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SUPPORTED_NODE, unsupportedNode } from '../../src/cli/runtime.js';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('supported Node.js lines', () => {
  it('package.json engines allow exactly the supported lines, each from its first LTS release', () => {
    const { engines } = JSON.parse(read('package.json')) as { engines: { node: string } };
    expect(engines.node).toBe(SUPPORTED_NODE.map((line) => `^${line.from}`).join(' || '));
  });

  it('.node-version pins the newest supported line, and the Dockerfile builds every stage on it', () => {
    const pinned = read('.node-version').trim();
    const newest = SUPPORTED_NODE.at(-1)!.major;
    expect(unsupportedNode(`v${pinned}`)).toBeUndefined();
    expect(Number(pinned.split('.')[0])).toBe(newest);
    const stages = read('Dockerfile').match(/^FROM .*/gm)!;
    expect(stages.length).toBeGreaterThan(0);
    for (const stage of stages) expect(stage).toMatch(new RegExp(`^FROM node:${newest}-`));
  });

  it('refuses end-of-life and unsupported lines, and releases before a line became LTS', () => {
    for (const version of ['v20.20.2', 'v22.22.0', 'v23.11.0', 'v24.10.0', 'v25.9.0', 'v27.0.0']) {
      expect(unsupportedNode(version), version).toMatch(/^Node\.js v\d+\.\d+\.\d+ is (not supported|older than)/);
    }
    for (const version of ['v24.11.0', 'v24.22.3', 'v26.0.0', 'v26.12.1']) expect(unsupportedNode(version), version).toBeUndefined();
  });

  it('this suite runs on a supported line', () => {
    expect(unsupportedNode(process.version)).toBeUndefined();
  });
});
