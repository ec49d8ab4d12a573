-- Sessions: one per logged-in device. Every refresh token issued before this
-- migration becomes a session of its own (same ID), so nobody is logged out.

-- CreateTable
CREATE TABLE "sessions" (
    "id" BIGINT NOT NULL,
    "user_id" BIGINT NOT NULL,
    "device_name" TEXT,
    "user_agent" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "ended_at" TIMESTAMPTZ(3),
    "end_reason" TEXT,

    CONSTRAINT "sessions_pkey" PRIMARY KEY ("id")
);

-- Backfill (hand-written): a session per existing refresh token.
INSERT INTO "sessions" ("id", "user_id", "created_at", "last_used_at", "expires_at", "ended_at", "end_reason")
SELECT "id", "user_id", "created_at", "created_at", "expires_at", "revoked_at",
       CASE WHEN "revoked_at" IS NULL THEN NULL ELSE 'LOGOUT' END
FROM "refresh_tokens";

-- DropForeignKey
ALTER TABLE "refresh_tokens" DROP CONSTRAINT "refresh_tokens_user_id_fkey";

-- DropIndex
DROP INDEX "refresh_tokens_user_id_idx";

-- AlterTable (hand-edited: session_id is filled before it becomes NOT NULL)
ALTER TABLE "refresh_tokens" ADD COLUMN "session_id" BIGINT,
ADD COLUMN     "used_at" TIMESTAMPTZ(3);
UPDATE "refresh_tokens" SET "session_id" = "id";
ALTER TABLE "refresh_tokens" ALTER COLUMN "session_id" SET NOT NULL,
DROP COLUMN "revoked_at",
DROP COLUMN "user_id";

-- CreateIndex
CREATE INDEX "sessions_user_id_idx" ON "sessions"("user_id");

-- CreateIndex
CREATE INDEX "refresh_tokens_session_id_idx" ON "refresh_tokens"("session_id");

-- AddForeignKey
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "refresh_tokens" ADD CONSTRAINT "refresh_tokens_session_id_fkey" FOREIGN KEY ("session_id") REFERENCES "sessions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Access tokens now name their session, and a session that ends is refused by
-- itself; the per-user cut-off is no longer read.
ALTER TABLE "users" DROP COLUMN "sessions_valid_after";
