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

-- Usernames and emails are unique without regard to case ("Alice" and "alice" are one account).
-- Expression indexes: Prisma cannot describe them, so the schema keeps its plain @unique and the
-- drift test lists these two as known differences.
-- CreateIndex
CREATE UNIQUE INDEX "users_username_lower_key" ON "users" (lower("username"));
-- CreateIndex
CREATE UNIQUE INDEX "users_email_lower_key" ON "users" (lower("email"));
