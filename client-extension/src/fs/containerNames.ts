import { formatUri, type UriParts } from './uris';

/**
 * Docker container names are case-sensitive, but VS Code lower-cases URI
 * authorities in places (`Uri.toString()`, and URIs it canonicalizes through
 * that form), so a provider call may arrive as `hotfix://smokeweb/…` for the
 * container `SmokeWeb`. We remember the real spelling of the names we have
 * seen and restore it before a URI goes to the server.
 */
export class ContainerNames {
    /** lower-case name → real name; null when two names differ only by case. */
    private readonly byLowerCase = new Map<string, string | null>();

    /** Learns from a trustworthy source: the server's container list, or a URI with capitals. */
    learn(name: string): void {
        const lower = name.toLowerCase();
        const known = this.byLowerCase.get(lower);
        if (known === undefined) {
            this.byLowerCase.set(lower, name);
        } else if (known !== null && known !== name) {
            this.byLowerCase.set(lower, null); // ambiguous: send what we were given
        }
    }

    /** Learns from a URI's authority when it cannot be a lower-cased copy. */
    learnFromAuthority(authority: string): void {
        if (authority !== authority.toLowerCase()) {
            this.learn(authority);
        }
    }

    /** The real spelling of an authority, when it looks lower-cased and we know better. */
    restore(authority: string): string {
        if (authority !== authority.toLowerCase()) {
            return authority;
        }
        return this.byLowerCase.get(authority) ?? authority;
    }

    /** True when an all-lower-case authority is not known yet: worth asking the server. */
    isUnknown(authority: string): boolean {
        return authority === authority.toLowerCase() && !this.byLowerCase.has(authority);
    }

    clear(): void {
        this.byLowerCase.clear();
    }
}

/** One per extension host: names are a fact about the engines, not about a component. */
export const containerNames = new ContainerNames();

/** The URI string the server gets (and the key we index files by). */
export function serverUri(uri: UriParts): string {
    return formatUri({ ...uri, authority: containerNames.restore(uri.authority) });
}
