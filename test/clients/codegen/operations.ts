/** A web client's operations in the client preset's idiom: `graphql()` returns a typed document with its hash. */
import { graphql } from './gql/index.js';

export const PostItemFragment = graphql(`
  fragment PostItem on Post {
    id
    body
    createdAt
    author {
      username
      name
    }
  }
`);

export const NewestPostsDocument = graphql(`
  query NewestPosts($first: Int!) {
    posts(first: $first) {
      edges {
        cursor
        node {
          ...PostItem
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const UserProfileDocument = graphql(`
  query UserProfile($username: String!, $first: Int!) {
    user(username: $username) {
      id
      username
      name
      posts(first: $first) {
        edges {
          node {
            ...PostItem
          }
        }
      }
    }
  }
`);

export const CreatePostDocument = graphql(`
  mutation CreatePost($body: String!) {
    createPost(input: { body: $body }) {
      post {
        ...PostItem
      }
      errors {
        code
        field
        message
      }
    }
  }
`);
