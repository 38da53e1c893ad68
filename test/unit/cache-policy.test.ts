/**
 * The response cache's reading of a document (src/cache/policy.ts) and of an answer (src/cache/tags.ts) against
 * the real schema: which operations may be kept, for how long and by whom, and which tags an answer carries,
 * through aliases and fragments.
 */
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { PRIVATE_MAX_AGE, PUBLIC_MAX_AGE } from '../../src/cache/directive.js';
import { cachePolicyOf } from '../../src/cache/policy.js';
import { canonicalJson } from '../../src/cache/canonical-json.js';
import { matchesEtag } from '../../src/cache/response-cache.js';
import { memoryResponseStore } from '../../src/store/response-store.js';
import { invalidatedBy, MAX_FEED_TAGS, tagsOf } from '../../src/cache/tags.js';
import { schema } from '../../src/schema/index.js';
import { globalId } from '../helpers/assertions.js';

const policy = (text: string, operationName?: string) => cachePolicyOf(schema, parse(text), operationName);

describe('cachePolicyOf', () => {
  it('keeps public reads for their hint, private ones per viewer for the smallest max-age met', () => {
    expect(policy('{ posts(first: 1) { edges { node { id } } } }')).toMatchObject({ maxAge: PUBLIC_MAX_AGE, scope: 'PUBLIC', rootTags: ['Query.posts'] });
    expect(policy('{ posts(first: 1) { edges { node { id } } } viewer { id } }')).toMatchObject({ maxAge: PRIVATE_MAX_AGE, scope: 'PRIVATE' });
  });

  it('makes an answer private when any field it selects is, in a fragment too', () => {
    expect(policy('{ user(username: "a") { name } }')!.scope).toBe('PUBLIC');
    expect(policy('{ user(username: "a") { ...F } } fragment F on User { email }')!.scope).toBe('PRIVATE');
    expect(policy('{ user(username: "a") { ... on User { balance { amount } } } }')!.scope).toBe('PRIVATE');
  });

  it('keeps nothing of mutations, introspection, rateLimit, or a root field without a hint', () => {
    expect(policy('mutation { createPost(input: { body: "x" }) { post { id } } }')).toBeUndefined();
    expect(policy('{ __schema { queryType { name } } }')).toBeUndefined();
    expect(policy('{ posts(first: 1) { edges { cursor } } rateLimit { remaining } }')).toBeUndefined();
    expect(policy('{ __typename }')).toBeUndefined();
  });

  it('picks the named operation, and keeps nothing when the name matches none', () => {
    const document = 'query A { posts(first: 1) { edges { cursor } } } mutation B { signUp(input: { username: "u", name: "n", email: "e@x.y" }) { user { id } } }';
    expect(policy(document, 'A')).toBeDefined();
    expect(policy(document, 'B')).toBeUndefined();
    expect(policy(document, 'C')).toBeUndefined();
    expect(policy(document)).toBeUndefined();
  });
});

describe('tagsOf', () => {
  it('tags each changing field with the id its object holds, whatever the alias, and without one type-wide', () => {
    const read = policy('{ user(username: "a") { key: id posts(first: 1) { edges { cursor } } ... on User { f: followers(first: 1) { edges { cursor } } } } }')!;
    const data = { user: { key: globalId('User', 7), posts: { edges: [] }, f: { edges: [] } } };
    // No write drops Query.user as such (only the fields under it), so no list is kept for it.
    expect(tagsOf(read, data, undefined).sort()).toEqual([`User.followers:${globalId('User', 7)}`, `User.posts:${globalId('User', 7)}`].sort());
    const withoutId = policy('{ user(username: "a") { posts(first: 1) { edges { cursor } } } }')!;
    expect(tagsOf(withoutId, { user: { posts: { edges: [] } } }, undefined)).toEqual(['User.posts']);
  });

  it('tags a private answer with its viewer, and follows lists', () => {
    const read = policy('{ feed(first: 2) { edges { node { author { id following(first: 1) { edges { cursor } } } } } } }')!;
    const data = { feed: { edges: [{ node: { author: { id: globalId('User', 1), following: { edges: [] } } } }, { node: { author: { id: globalId('User', 2), following: { edges: [] } } } }] } };
    expect(tagsOf(read, data, 9).sort()).toEqual(['Query.feed', 'Query.feed:9', `User.following:${globalId('User', 1)}`, `User.following:${globalId('User', 2)}`].sort());
  });
});

describe('invalidatedBy', () => {
  it('drops every feed when who follows an author cannot be read, and still the rest', async () => {
    const failing = () => Promise.reject(new Error('pool exhausted'));
    expect(await invalidatedBy({ type: 'post.created', postId: 1, authorId: 5 }, failing)).toEqual(['Query.posts', 'User.posts', `User.posts:${globalId('User', 5)}`, 'Query.feed']);
  });

  it('drops the newest posts, the author\'s posts and each follower\'s feed for a post; every feed past the bound', async () => {
    const followers = (count: number) => () => Promise.resolve(Array.from({ length: count }, (_, i) => i + 100));
    expect(await invalidatedBy({ type: 'post.created', postId: 1, authorId: 5 }, followers(2))).toEqual([
      'Query.posts',
      'User.posts',
      `User.posts:${globalId('User', 5)}`,
      'Query.feed:100',
      'Query.feed:101',
    ]);
    expect(await invalidatedBy({ type: 'post.created', postId: 1, authorId: 5 }, followers(MAX_FEED_TAGS + 1))).toContain('Query.feed');
  });

  it('drops both sides of a follow and of a transfer', async () => {
    const none = () => Promise.resolve([]);
    expect(await invalidatedBy({ type: 'follow.created', followerId: 1, followeeId: 2 }, none)).toEqual(
      expect.arrayContaining([`User.followers:${globalId('User', 2)}`, `User.following:${globalId('User', 1)}`, 'Query.feed:1']),
    );
    const moved = await invalidatedBy({ type: 'ledger.moved', entryIds: [1], userIds: [3, 4] }, none);
    expect(moved).toEqual(expect.arrayContaining([`User.balance:${globalId('User', 3)}`, `User.balance:${globalId('User', 4)}`, `User.transactions:${globalId('User', 4)}`]));
  });
});

describe('keys and validators', () => {
  it('canonicalJson sorts object keys at every depth and leaves arrays in order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
    expect(canonicalJson({ a: undefined, b: 'x' })).toBe('{"b":"x"}');
    expect(canonicalJson([1, undefined, { z: [], y: {} }, 'q"'])).toBe('[1,null,{"y":{},"z":[]},"q\\""]');
  });

  it('canonicalJson walks a value nested far deeper than the call stack allows (a client sends it)', () => {
    const depth = 200_000;
    const text = `${'['.repeat(depth)}{"b":1,"a":2}${']'.repeat(depth)}`;
    expect(canonicalJson(JSON.parse(text))).toBe(`${'['.repeat(depth)}{"a":2,"b":1}${']'.repeat(depth)}`);
  });

  it('matchesEtag compares weakly, in lists, and with *', () => {
    expect(matchesEtag('"a", W/"b"', '"b"')).toBe(true);
    expect(matchesEtag('*', '"x"')).toBe(true);
    expect(matchesEtag('"a"', '"b"')).toBe(false);
    expect(matchesEtag(undefined, '"b"')).toBe(false);
  });
});

describe('the response store (in-process; the Redis one runs the same rules in its scripts, tested through the server)', () => {
  it('keeps a miss only if none of its tags was dropped after it began', async () => {
    const store = memoryResponseStore({ maxEntries: 10 });
    const began = (await store.generation())!;
    await store.invalidate(['Query.posts']);
    expect(await store.set('a', Buffer.from('stale'), ['Query.posts'], 1_000, began)).toBe(false);
    expect(await store.get('a')).toBeUndefined();
    expect(await store.set('b', Buffer.from('other tags'), ['User.posts:x'], 1_000, began)).toBe(true);
    const now = (await store.generation())!;
    expect(await store.set('c', Buffer.from('fresh'), ['Query.posts'], 1_000, now)).toBe(true);
    expect(await store.invalidate(['Query.posts'])).toBe(1);
    expect(await store.get('c')).toBeUndefined();
    expect((await store.get('b'))?.toString()).toBe('other tags');
  });
});
