/** Input to relay-compiler (npm run clients:build). Tests import its artifacts in ../__generated__/, which babel-plugin-relay would put in place of this tag. */
import { graphql } from 'relay-runtime';

export const NewestPostsQuery = graphql`
  query NewestPostsQuery($first: Int!, $after: String) {
    posts(first: $first, after: $after) @connection(key: "NewestPosts_posts") {
      edges {
        node {
          ...PostCard_post
        }
      }
    }
  }
`;
