/** Input to relay-compiler (npm run clients:build). Tests import its artifacts in ../__generated__/, which babel-plugin-relay would put in place of this tag. */
import { graphql } from 'relay-runtime';

export const UserProfileQuery = graphql`
  query UserProfileQuery($id: ID!, $first: Int!) {
    user(id: $id) {
      username
      name
      avatarUrl
      posts(first: $first) {
        edges {
          node {
            ...PostCard_post
          }
        }
      }
    }
  }
`;
