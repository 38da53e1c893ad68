/* eslint-disable */
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
export type Maybe<T> = T | null;
export type InputMaybe<T> = T | null | undefined;
export type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
export type MakeOptional<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]?: Maybe<T[SubKey]> };
export type MakeMaybe<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]: Maybe<T[SubKey]> };
export type MakeEmpty<T extends { [key: string]: unknown }, K extends keyof T> = { [_ in K]?: never };
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** An instant as an ISO 8601 string in UTC with milliseconds, such as "2026-01-31T12:00:00.000Z". */
  DateTime: { input: string; output: string; }
};

/** Who may share a cached answer: everyone (PUBLIC), or only the viewer who asked (PRIVATE). */
export type CacheControlScope =
  | 'PRIVATE'
  | 'PUBLIC';

/** A new post. */
export type CreatePostInput = {
  /** The text, 1 to 2000 characters, stored exactly as written. */
  body: Scalars['String']['input'];
};

/** An ISO 4217 currency Tally holds accounts in. */
export type Currency =
  /** EUR, 2 decimal places. */
  | 'EUR'
  /** GBP, 2 decimal places. */
  | 'GBP'
  /** JPY, 0 decimal places. */
  | 'JPY'
  /** USD, 2 decimal places. */
  | 'USD';

/** Money paid into the viewer's account. */
export type DepositInput = {
  /** A positive decimal amount with at most the currency's decimal places, such as "12.34". */
  amount: Scalars['String']['input'];
  /** The currency; it must be the account's. */
  currency: Currency;
  /** A note kept with the entry (at most 200 characters). */
  description?: InputMaybe<Scalars['String']['input']>;
  /** Makes retries safe: the same key with the same input returns the first result and moves nothing again (kept at least 24 hours; 1 to 255 characters). Required here or as an Idempotency-Key header. */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
};

/** The user to follow or stop following. */
export type FollowInput = {
  /** The global ID of the User. */
  userId: Scalars['ID']['input'];
};

/** What went wrong, for a client to branch on. */
export type MutationErrorCode =
  /** The receiving account would hold more than the largest balance an account can hold: nothing was moved. */
  | 'BALANCE_LIMIT'
  /** The currency differs from the account's currency. */
  | 'CURRENCY_MISMATCH'
  /** The email address belongs to another user. */
  | 'EMAIL_TAKEN'
  /** A request with this idempotency key is still being processed: retry shortly. */
  | 'IDEMPOTENCY_KEY_IN_PROGRESS'
  /** This idempotency key was used with other parameters: use a new key for a new operation. */
  | 'IDEMPOTENCY_KEY_REUSED'
  /** The balance is lower than the amount: nothing was moved. */
  | 'INSUFFICIENT_FUNDS'
  /** An input field is missing, malformed or out of range; `field` names it. */
  | 'INVALID_INPUT'
  /** The user or object the input names does not exist. */
  | 'NOT_FOUND'
  /** A user cannot follow themselves. */
  | 'SELF_FOLLOW'
  /** A transfer to oneself moves no money and is refused. */
  | 'SELF_TRANSFER'
  /** The username belongs to another user (usernames are unique regardless of case). */
  | 'USERNAME_TAKEN';

/** Who signs up. */
export type SignUpInput = {
  /** The currency of the new account (USD when not given). */
  currency?: InputMaybe<Currency>;
  /** An email address, unique regardless of case. Private to the user. */
  email: Scalars['String']['input'];
  /** The display name, 1 to 100 characters. */
  name: Scalars['String']['input'];
  /** A unique handle, 3 to 50 characters (unique regardless of case). */
  username: Scalars['String']['input'];
};

/** Narrows a ledger to one kind of entry and/or a time range. */
export type TransactionFilter = {
  /** Only entries at or after this instant. */
  from?: InputMaybe<Scalars['DateTime']['input']>;
  /** Only entries of this kind. */
  kind?: InputMaybe<TransactionKind>;
  /** Only entries before this instant. */
  to?: InputMaybe<Scalars['DateTime']['input']>;
};

/** What a ledger entry records. */
export type TransactionKind =
  /** Money paid into the account. */
  | 'DEPOSIT'
  /** Money received from another user. */
  | 'TRANSFER_IN'
  /** Money sent to another user. */
  | 'TRANSFER_OUT'
  /** Money paid out of the account. */
  | 'WITHDRAWAL';

/** Money sent from the viewer's account to another user's, in the currency both accounts hold. */
export type TransferInput = {
  /** A positive decimal amount with at most the currency's decimal places, such as "12.34". */
  amount: Scalars['String']['input'];
  /** The currency; both accounts must hold it. */
  currency: Currency;
  /** A note kept with the entry (at most 200 characters). */
  description?: InputMaybe<Scalars['String']['input']>;
  /** Makes retries safe: the same key with the same input returns the first result and moves nothing again (kept at least 24 hours; 1 to 255 characters). Required here or as an Idempotency-Key header. */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
  /** The global ID of the User receiving the money. */
  to: Scalars['ID']['input'];
};

/** Money paid out of the viewer's account; never more than its balance. */
export type WithdrawInput = {
  /** A positive decimal amount with at most the currency's decimal places, such as "12.34". */
  amount: Scalars['String']['input'];
  /** The currency; it must be the account's. */
  currency: Currency;
  /** A note kept with the entry (at most 200 characters). */
  description?: InputMaybe<Scalars['String']['input']>;
  /** Makes retries safe: the same key with the same input returns the first result and moves nothing again (kept at least 24 hours; 1 to 255 characters). Required here or as an Idempotency-Key header. */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
};

export type PostItemFragment = { __typename?: 'Post', id: string, body: string, createdAt: string, author: { __typename?: 'User', username: string, name: string } } & { ' $fragmentName'?: 'PostItemFragment' };

export type NewestPostsQueryVariables = Exact<{
  first: Scalars['Int']['input'];
}>;


export type NewestPostsQuery = { __typename?: 'Query', posts: { __typename?: 'PostConnection', edges: Array<{ __typename?: 'PostEdge', cursor: string, node: (
        { __typename?: 'Post' }
        & { ' $fragmentRefs'?: { 'PostItemFragment': PostItemFragment } }
      ) }>, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor?: string | null } } };

export type UserProfileQueryVariables = Exact<{
  username: Scalars['String']['input'];
  first: Scalars['Int']['input'];
}>;


export type UserProfileQuery = { __typename?: 'Query', user?: { __typename?: 'User', id: string, username: string, name: string, posts: { __typename?: 'PostConnection', edges: Array<{ __typename?: 'PostEdge', node: (
          { __typename?: 'Post' }
          & { ' $fragmentRefs'?: { 'PostItemFragment': PostItemFragment } }
        ) }> } } | null };

export type CreatePostMutationVariables = Exact<{
  body: Scalars['String']['input'];
}>;


export type CreatePostMutation = { __typename?: 'Mutation', createPost: { __typename?: 'CreatePostPayload', post?: (
      { __typename?: 'Post' }
      & { ' $fragmentRefs'?: { 'PostItemFragment': PostItemFragment } }
    ) | null, errors: Array<{ __typename?: 'MutationError', code: MutationErrorCode, field?: Array<string> | null, message: string }> } };

export const PostItemFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"PostItem"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Post"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"body"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"author"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}}]} as unknown as DocumentNode<PostItemFragment, unknown>;
export const NewestPostsDocument = {"__meta__":{"hash":"1bd2166819c491abd4bde878a066331f08cecb70"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"NewestPosts"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"posts"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cursor"}},{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"PostItem"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"PostItem"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Post"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"body"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"author"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}}]} as unknown as DocumentNode<NewestPostsQuery, NewestPostsQueryVariables>;
export const UserProfileDocument = {"__meta__":{"hash":"924e972301f69acd147494ee98e214f1ac720c25"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"UserProfile"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"username"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"user"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"username"},"value":{"kind":"Variable","name":{"kind":"Name","value":"username"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"posts"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"PostItem"}}]}}]}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"PostItem"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Post"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"body"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"author"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}}]} as unknown as DocumentNode<UserProfileQuery, UserProfileQueryVariables>;
export const CreatePostDocument = {"__meta__":{"hash":"ef924a33be4030a64181b2923a928f60fde9a8b2"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreatePost"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"body"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createPost"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"ObjectValue","fields":[{"kind":"ObjectField","name":{"kind":"Name","value":"body"},"value":{"kind":"Variable","name":{"kind":"Name","value":"body"}}}]}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"post"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"PostItem"}}]}},{"kind":"Field","name":{"kind":"Name","value":"errors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"field"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"PostItem"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Post"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"body"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"author"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"username"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}}]} as unknown as DocumentNode<CreatePostMutation, CreatePostMutationVariables>;