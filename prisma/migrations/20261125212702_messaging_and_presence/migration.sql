-- CreateEnum
CREATE TYPE "MessageKind" AS ENUM ('USER', 'SYSTEM');

-- CreateEnum
CREATE TYPE "ReceiptKind" AS ENUM ('DELIVERED', 'SEEN');

-- AlterTable
ALTER TABLE "chat_members" ADD COLUMN     "delivered_at" TIMESTAMPTZ(3),
ADD COLUMN     "delivered_seq" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "seen_at" TIMESTAMPTZ(3),
ADD COLUMN     "seen_seq" BIGINT NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "messages" ADD COLUMN     "deleted_at" TIMESTAMPTZ(3),
ADD COLUMN     "edited_at" TIMESTAMPTZ(3),
ADD COLUMN     "kind" "MessageKind" NOT NULL DEFAULT 'USER',
ADD COLUMN     "system" TEXT,
ADD COLUMN     "version" INTEGER NOT NULL DEFAULT 1;

-- AlterTable
ALTER TABLE "message_keys" ADD COLUMN     "kind" "MessageKind" NOT NULL DEFAULT 'USER',
ADD COLUMN     "system" TEXT;

-- AlterTable
ALTER TABLE "message_seqs" ADD COLUMN     "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
ADD COLUMN     "deleted_at" TIMESTAMPTZ(3),
ADD COLUMN     "edited_at" TIMESTAMPTZ(3),
ADD COLUMN     "kind" "MessageKind" NOT NULL DEFAULT 'USER',
ADD COLUMN     "sender_id" BIGINT,
ADD COLUMN     "version" INTEGER NOT NULL DEFAULT 1;

-- Hand-edited: backfill the sender of messages placed before this migration
-- from their idempotency keys (every placed message has one), then require it.
UPDATE "message_seqs" AS s SET "sender_id" = k."sender_id", "created_at" = k."created_at"
  FROM "message_keys" AS k WHERE k."message_id" = s."message_id";
UPDATE "message_seqs" SET "sender_id" = 0 WHERE "sender_id" IS NULL;
ALTER TABLE "message_seqs" ALTER COLUMN "sender_id" SET NOT NULL;

-- AlterTable
ALTER TABLE "presence" ADD COLUMN     "chosen_status" "PresenceStatus" NOT NULL DEFAULT 'ONLINE';

-- Hand-edited: a status set before devices existed becomes the chosen status
-- (appearing offline stays chosen as ONLINE); with no device connected yet,
-- everyone is OFFLINE until their first heartbeat.
UPDATE "presence" SET "chosen_status" = CASE WHEN "status" = 'OFFLINE' THEN 'ONLINE'::"PresenceStatus" ELSE "status" END, "status" = 'OFFLINE';

-- CreateTable
CREATE TABLE "receipt_marks" (
    "chat_id" BIGINT NOT NULL,
    "user_id" BIGINT NOT NULL,
    "kind" "ReceiptKind" NOT NULL,
    "up_to_seq" BIGINT NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "receipt_marks_pkey" PRIMARY KEY ("chat_id","user_id","kind","up_to_seq")
);

-- CreateTable
CREATE TABLE "message_reactions" (
    "message_id" BIGINT NOT NULL,
    "user_id" BIGINT NOT NULL,
    "emoji" TEXT NOT NULL,
    "chat_id" BIGINT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "message_reactions_pkey" PRIMARY KEY ("message_id","user_id","emoji")
);

-- CreateTable
CREATE TABLE "message_hides" (
    "user_id" BIGINT NOT NULL,
    "message_id" BIGINT NOT NULL,
    "chat_id" BIGINT NOT NULL,
    "hidden_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "message_hides_pkey" PRIMARY KEY ("user_id","message_id")
);

-- CreateTable
CREATE TABLE "presence_devices" (
    "user_id" BIGINT NOT NULL,
    "device_id" TEXT NOT NULL,
    "last_beat_at" TIMESTAMPTZ(3) NOT NULL,
    "last_active_at" TIMESTAMPTZ(3) NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "presence_devices_pkey" PRIMARY KEY ("user_id","device_id")
);

-- CreateIndex
CREATE INDEX "receipt_marks_chat_id_up_to_seq_idx" ON "receipt_marks"("chat_id", "up_to_seq");

-- CreateIndex
CREATE INDEX "message_hides_user_id_chat_id_idx" ON "message_hides"("user_id", "chat_id");

-- CreateIndex
CREATE INDEX "presence_devices_expires_at_idx" ON "presence_devices"("expires_at");

-- CreateIndex
CREATE INDEX "presence_devices_last_active_at_idx" ON "presence_devices"("last_active_at");

-- CreateIndex
CREATE INDEX "message_keys_produced_at_kind_idx" ON "message_keys"("produced_at", "kind");

