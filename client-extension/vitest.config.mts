import { fileURLToPath } from 'url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
    resolve: {
        // Unit tests run outside VS Code: `vscode` is a small fake of the parts we use.
        alias: { vscode: fileURLToPath(new URL('./test/fakes/vscode.ts', import.meta.url)) },
    },
    test: {
        include: ['test/unit/**/*.test.ts'],
        environment: 'node',
    },
});
