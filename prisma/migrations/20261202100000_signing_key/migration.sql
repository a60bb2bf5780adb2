-- The JWT signing key, when SECRET_KEY is not set: generated once by whichever replica starts
-- first (INSERT … ON CONFLICT DO NOTHING), then read by every replica, so all of them sign and
-- verify with the same key and no key is ever taken from the repository.
-- CreateTable
CREATE TABLE "signing_keys" (
    "id" INTEGER NOT NULL,
    "secret" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "signing_keys_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "signing_keys_one_row" CHECK ("id" = 1),
    CONSTRAINT "signing_keys_secret_length" CHECK (length("secret") >= 43)
);
