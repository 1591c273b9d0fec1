#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// The lifecycle rules of a managed account, as pure transitions: each takes an account and returns the
/// changed account or throws the rule it breaks. Nothing here touches storage.
extension Account {
    /// active → deactivated.
    public func deactivated(at now: Date) throws -> Account {
        guard state == .active else {
            throw CoreError(.conflict, "account.already_deactivated", "account \(managedID) is already deactivated")
        }
        var next = self
        next.state = .deactivated
        next.deactivatedAt = now
        return next.touched(at: now)
    }

    /// deactivated → active.
    public func reactivated(at now: Date) throws -> Account {
        guard state == .deactivated else {
            throw CoreError(.conflict, "account.already_active", "account \(managedID) is already active")
        }
        var next = self
        next.state = .active
        next.deactivatedAt = nil
        return next.touched(at: now)
    }

    /// Only a deactivated account may be deleted.
    public func checkDeletable() throws {
        guard state == .deactivated else {
            throw CoreError(
                .conflict, "account.delete_active", "account \(managedID) is active: deactivate it before deleting it")
        }
    }

    /// Gives a local account a new temporary password (hashed by the caller), clearing any lock.
    public func withTemporaryPassword(hash: String, at now: Date, policy: AccountPolicy) throws -> Account {
        try requireLocalCredential()
        var next = self
        next.credential = PasswordCredential(
            hash: hash, isTemporary: true, expiresAt: now.adding(policy.temporaryPasswordLifetime))
        next.failedLoginCount = 0
        next.lockedAt = nil
        return next.touched(at: now)
    }

    /// Replaces the password with a permanent one chosen by the account holder.
    public func withPermanentPassword(hash: String, at now: Date) throws -> Account {
        try requireLocalCredential()
        var next = self
        next.credential = PasswordCredential(hash: hash, isTemporary: false, expiresAt: nil)
        next.failedLoginCount = 0
        return next.touched(at: now)
    }

    /// Registers a sign-in attempt before its password is checked, refusing it when the account may not
    /// sign in or when more attempts are pending than the lockout allows. Counting first (and resetting
    /// on success) means parallel guesses cannot get past the lockout.
    public func registeringSignInAttempt(at now: Date, policy: AccountPolicy) throws -> Account {
        try checkSignInAllowed(at: now)
        guard failedLoginCount <= policy.lockoutThreshold else {
            throw CoreError(.unauthenticated, "sign_in.locked", "account is locked after too many wrong passwords")
        }
        var next = self
        next.failedLoginCount += 1
        return next.touched(at: now)
    }

    /// After a wrong password (already counted by `registeringSignInAttempt`): the account locks once
    /// its count exceeds the policy's threshold.
    public func afterWrongPassword(at now: Date, policy: AccountPolicy) -> Account {
        guard failedLoginCount > policy.lockoutThreshold, lockedAt == nil else { return self }
        var next = self
        next.lockedAt = now
        return next.touched(at: now)
    }

    /// A successful sign-in clears the failure count.
    public func afterSuccessfulSignIn(at now: Date) -> Account {
        guard failedLoginCount != 0 else { return self }
        var next = self
        next.failedLoginCount = 0
        return next.touched(at: now)
    }

    /// locked → unlocked.
    public func unlocked(at now: Date) throws -> Account {
        guard isLocked else {
            throw CoreError(.conflict, "account.not_locked", "account \(managedID) is not locked")
        }
        var next = self
        next.lockedAt = nil
        next.failedLoginCount = 0
        return next.touched(at: now)
    }

    /// Whether a password sign-in may be attempted at all (before the password is checked): active,
    /// unlocked, with a local password.
    public func checkSignInAllowed(at now: Date) throws {
        guard state == .active else {
            throw CoreError(.unauthenticated, "sign_in.deactivated", "account is deactivated")
        }
        guard !isLocked else {
            throw CoreError(.unauthenticated, "sign_in.locked", "account is locked after too many wrong passwords")
        }
        guard credential != nil else {
            throw CoreError(
                .unauthenticated, "sign_in.no_local_credential",
                "account has no local password; sign in through its directory")
        }
    }

    /// Checked only after the password was verified, so that only someone who knows it learns this.
    public func checkTemporaryPasswordCurrent(at now: Date) throws {
        if let credential, credential.isTemporary, let expiry = credential.expiresAt, expiry <= now {
            throw CoreError(
                .unauthenticated, "sign_in.temporary_password_expired",
                "temporary password has expired; ask an administrator for a new one")
        }
    }

    /// Directory-synced accounts are read-only here while their directory owns them; roles stay local.
    public func checkLocallyEditable(changingProfile: Bool) throws {
        if changingProfile && source != .local {
            throw CoreError(
                .conflict, "account.directory_owned",
                "account \(managedID) comes from \(source.rawValue): change its profile in the directory")
        }
    }

    /// Whether the account is due for automatic deletion (deactivated local accounts past retention).
    public func isPastRetention(at now: Date, policy: AccountPolicy) -> Bool {
        guard source == .local, state == .deactivated, let since = deactivatedAt else { return false }
        return since.adding(policy.deactivatedRetention) <= now
    }

    /// Only local accounts hold a Tessera password.
    public func requireLocalCredential() throws {
        guard source == .local else {
            throw CoreError(
                .conflict, "account.no_local_password",
                "account \(managedID) signs in through \(source.rawValue) and has no Tessera password")
        }
    }

    /// The account with its version bumped and its change time set: every stored change goes through it.
    public func touched(at now: Date) -> Account {
        var next = self
        next.version += 1
        next.updatedAt = now
        return next
    }
}
