import type { HotfixServer } from '../server/hotfixServer';
import { containerNames, serverUri } from './containerNames';
import type { UriParts } from './uris';

const LOOKUP_INTERVAL_MS = 10_000;

/**
 * Turns the URIs VS Code hands a provider into server URIs, asking the server
 * for its container names when an authority may have lost its case.
 */
export class ServerUriResolver {
    private lookup: Promise<void> | undefined;
    private lastLookup = 0;

    constructor(private readonly server: HotfixServer) {}

    async resolve(uri: UriParts): Promise<string> {
        containerNames.learnFromAuthority(uri.authority);
        if (containerNames.isUnknown(uri.authority)) {
            await this.learnContainerNames();
        }
        return serverUri(uri);
    }

    /** At most one `hotfix/containers` at a time, and not more often than every 10 s. */
    private learnContainerNames(): Promise<void> {
        if (!this.lookup && Date.now() - this.lastLookup >= LOOKUP_INTERVAL_MS) {
            this.lastLookup = Date.now();
            this.lookup = this.server
                .request('hotfix/containers', {})
                .then(
                    ({ containers }) => containers.forEach((container) => containerNames.learn(container.name)),
                    () => undefined, // the request that follows reports the real problem
                )
                .finally(() => {
                    this.lookup = undefined;
                });
        }
        return this.lookup ?? Promise.resolve();
    }
}
