-- Issue 23 §9–10. The deployment's owner is a flag on an account (an admin of a team manages only
-- that team); an account can be disabled; access tokens are revoked through a deny-list that
-- every node reloads every few seconds; secrets belong to a team, with the deployment's own as
-- the default (scope '').

ALTER TABLE users ADD COLUMN is_owner BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN disabled_at BIGINT;

-- kind 'user':   subject is a user id; tokens issued before not_before (Unix ms) are refused
--                (password or role change, disabled, deleted);
-- kind 'token':  subject is a token's jti (logout);
-- kind 'unlock': subject is a username whose login lock every node lifts (not_before: when, ms).
-- A row is kept until expires_at (Unix ms), when every token it could refuse has expired.
CREATE TABLE token_revocations (
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    not_before BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (kind, subject)
);

CREATE TABLE scoped_secrets (
    scope TEXT NOT NULL,
    name TEXT NOT NULL,
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (scope, name)
);
-- Secrets stored before teams had their own are the deployment's defaults.
INSERT INTO scoped_secrets (scope, name, nonce, ciphertext, updated_at)
    SELECT '', name, nonce, ciphertext, updated_at FROM secrets;
DROP TABLE secrets;
