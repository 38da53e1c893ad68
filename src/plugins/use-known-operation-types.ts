/**
 * An operation whose type the schema has no root for (a `subscription` while Tally serves none, or a `mutation`
 * against a schema without mutations) fails validation, as graphql-js 17's KnownOperationTypesRule has it. graphql
 * 16 leaves it to execution, where graphql-jit threw a plain Error ("No root type for operation subscription"):
 * a 500 for a document any client can send, found by the HTTP property test.
 */
import { GraphQLError, type ASTVisitor, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';

function knownOperationTypes(context: ValidationContext): ASTVisitor {
  const schema = context.getSchema();
  return {
    OperationDefinition(node) {
      if (schema.getRootType(node.operation)) return;
      context.reportError(new GraphQLError(`This server does not serve ${node.operation} operations.`, { nodes: node }));
    },
  };
}

export function useKnownOperationTypes(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(knownOperationTypes);
    },
  };
}
