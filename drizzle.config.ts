import { defineConfig } from 'drizzle-kit';

// Used only by `drizzle-kit generate` to write SQL migrations from src/db/schema.ts; it never connects.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './src/db/migrations',
});
