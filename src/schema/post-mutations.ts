/** createPost: a post by the viewer, returned whole so a client can put it in its cache. */
import { z } from 'zod';
import { insertPost } from '../db/queries/posts.js';
import type { PostRow } from '../db/schema.js';
import { builder } from './builder.js';
import { ERRORS_LIST, MutationError, rejected, type Payload } from './mutation-errors.js';
import { Post } from './post.js';
import { existingViewer } from './existing-viewer.js';
import { text, validate } from './validation.js';

export const MAX_POST_LENGTH = 2_000;

const createPostInput = z.object({
  body: text('The body', { max: MAX_POST_LENGTH }).refine((value) => value.trim().length > 0, { error: 'The body must not be blank.' }),
});

const CreatePostInput = builder.inputType('CreatePostInput', {
  description: 'A new post.',
  fields: (t) => ({
    body: t.string({ required: true, description: `The text, 1 to ${MAX_POST_LENGTH} characters, stored exactly as written.` }),
  }),
});

const CreatePostPayload = builder.objectRef<Payload<PostRow>>('CreatePostPayload').implement({
  description: 'The new post, or why there is none.',
  fields: (t) => ({
    post: t.field({ type: Post, nullable: true, description: 'The new post; null on error.', resolve: (payload) => payload.value }),
    errors: t.field({ type: [MutationError], ...ERRORS_LIST, description: 'Why no post was made; empty on success.', resolve: (payload) => [...payload.errors] }),
  }),
});

builder.mutationField('createPost', (t) =>
  t.field({
    type: CreatePostPayload,
    description: 'Publishes a post by the viewer.',
    authScopes: { viewer: true },
    args: { input: t.arg({ type: CreatePostInput, required: true }) },
    resolve: async (_root, { input }, context) => {
      const viewer = await existingViewer(context);
      const checked = validate(createPostInput, input);
      if (!checked.ok) return rejected(checked.problems);
      const post = await insertPost(context.db, viewer.id, checked.value.body);
      context.loaders.post.prime(post.id, post);
      await context.events.publish({ type: 'post.created', postId: post.id, authorId: post.authorId });
      return { value: post, errors: [] };
    },
  }),
);
