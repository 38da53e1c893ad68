/**
 * The Node.js lines Tally runs on: 26 (Active LTS, the line it is pinned to in .node-version and built on in the
 * Dockerfile) and 24 (Maintenance LTS), each from its first LTS release. Node 20 reached end of life on
 * 2026-04-30 and 22 leaves maintenance on 2027-04-30. package.json's engines say the same, and a test holds the
 * three to one another (test/unit/runtime.test.ts).
 */

/** Each supported major line and its first release that is supported (the line's first LTS release). */
export const SUPPORTED_NODE = [
  { major: 24, from: '24.11.0' },
  { major: 26, from: '26.0.0' },
] as const;

const parts = (version: string) => version.replace(/^v/, '').split('.').map(Number) as [number, number, number];

/** Why `version` (such as `v20.20.2`) is not one Tally runs on, or undefined when it is. */
export function unsupportedNode(version: string): string | undefined {
  const [major, minor, patch] = parts(version);
  const line = SUPPORTED_NODE.find((each) => each.major === major);
  const supported = SUPPORTED_NODE.map((each) => `${each.major} (from ${each.from})`).join(' or ');
  const advice = `Tally runs on Node.js ${supported}: run \`source scripts/node.sh\` to bring the pinned one (.node-version), or install it with nvm or fnm`;
  if (!line) return `Node.js ${version} is not supported. ${advice}.`;
  const [, fromMinor, fromPatch] = parts(line.from);
  if (minor < fromMinor || (minor === fromMinor && patch < fromPatch)) return `Node.js ${version} is older than ${line.from}, the first LTS release of ${major}. ${advice}.`;
  return undefined;
}
