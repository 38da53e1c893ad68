/**
 * graphql-codegen's client preset over Tally's schema, as a web client would configure it, with persisted
 * documents: `npm run clients:build` writes gql/ (typed documents, each carrying its hash in `__meta__`) and
 * gql/persisted-documents.json (hash → document), the manifest the server is given.
 */
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['test/clients/codegen/operations.ts'],
  emitLegacyCommonJSImports: false,
  generates: {
    'test/clients/codegen/gql/': {
      preset: 'client',
      presetConfig: { persistedDocuments: true, fragmentMasking: { unmaskFunctionName: 'getFragmentData' } },
      config: { useTypeImports: true, enumsAsTypes: true, onlyOperationTypes: true, scalars: { DateTime: 'string' } },
    },
  },
};

export default config;
