/** Input to relay-compiler (npm run clients:build). Tests import its artifacts in ../__generated__/, which babel-plugin-relay would put in place of this tag. */
import { graphql } from 'relay-runtime';

export const PostCardFragment = graphql`
  fragment PostCard_post on Post {
    body
    createdAt
    author {
      username
      name
    }
  }
`;
