/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment PostItem on Post {\n    id\n    body\n    createdAt\n    author {\n      username\n      name\n    }\n  }\n": typeof types.PostItemFragmentDoc,
    "\n  query NewestPosts($first: Int!) {\n    posts(first: $first) {\n      edges {\n        cursor\n        node {\n          ...PostItem\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.NewestPostsDocument,
    "\n  query UserProfile($username: String!, $first: Int!) {\n    user(username: $username) {\n      id\n      username\n      name\n      posts(first: $first) {\n        edges {\n          node {\n            ...PostItem\n          }\n        }\n      }\n    }\n  }\n": typeof types.UserProfileDocument,
    "\n  mutation CreatePost($body: String!) {\n    createPost(input: { body: $body }) {\n      post {\n        ...PostItem\n      }\n      errors {\n        code\n        field\n        message\n      }\n    }\n  }\n": typeof types.CreatePostDocument,
};
const documents: Documents = {
    "\n  fragment PostItem on Post {\n    id\n    body\n    createdAt\n    author {\n      username\n      name\n    }\n  }\n": types.PostItemFragmentDoc,
    "\n  query NewestPosts($first: Int!) {\n    posts(first: $first) {\n      edges {\n        cursor\n        node {\n          ...PostItem\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.NewestPostsDocument,
    "\n  query UserProfile($username: String!, $first: Int!) {\n    user(username: $username) {\n      id\n      username\n      name\n      posts(first: $first) {\n        edges {\n          node {\n            ...PostItem\n          }\n        }\n      }\n    }\n  }\n": types.UserProfileDocument,
    "\n  mutation CreatePost($body: String!) {\n    createPost(input: { body: $body }) {\n      post {\n        ...PostItem\n      }\n      errors {\n        code\n        field\n        message\n      }\n    }\n  }\n": types.CreatePostDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment PostItem on Post {\n    id\n    body\n    createdAt\n    author {\n      username\n      name\n    }\n  }\n"): (typeof documents)["\n  fragment PostItem on Post {\n    id\n    body\n    createdAt\n    author {\n      username\n      name\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query NewestPosts($first: Int!) {\n    posts(first: $first) {\n      edges {\n        cursor\n        node {\n          ...PostItem\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query NewestPosts($first: Int!) {\n    posts(first: $first) {\n      edges {\n        cursor\n        node {\n          ...PostItem\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query UserProfile($username: String!, $first: Int!) {\n    user(username: $username) {\n      id\n      username\n      name\n      posts(first: $first) {\n        edges {\n          node {\n            ...PostItem\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query UserProfile($username: String!, $first: Int!) {\n    user(username: $username) {\n      id\n      username\n      name\n      posts(first: $first) {\n        edges {\n          node {\n            ...PostItem\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreatePost($body: String!) {\n    createPost(input: { body: $body }) {\n      post {\n        ...PostItem\n      }\n      errors {\n        code\n        field\n        message\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation CreatePost($body: String!) {\n    createPost(input: { body: $body }) {\n      post {\n        ...PostItem\n      }\n      errors {\n        code\n        field\n        message\n      }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;