-- AlterTable
ALTER TABLE "users" ADD COLUMN     "deleted_at" TIMESTAMPTZ(3),
ADD COLUMN     "sessions_valid_after" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "account_erasures" (
    "user_id" BIGINT NOT NULL,
    "requested_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "done_at" TIMESTAMPTZ(3),

    CONSTRAINT "account_erasures_pkey" PRIMARY KEY ("user_id")
);

-- CreateIndex
CREATE INDEX "account_erasures_done_at_idx" ON "account_erasures"("done_at");

-- CreateIndex
CREATE INDEX "message_seqs_sender_id_created_at_idx" ON "message_seqs"("sender_id", "created_at");

