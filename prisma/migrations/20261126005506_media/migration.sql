-- CreateEnum
CREATE TYPE "MediaPurpose" AS ENUM ('MESSAGE_ATTACHMENT', 'AVATAR');

-- CreateEnum
CREATE TYPE "MediaKind" AS ENUM ('IMAGE', 'VIDEO', 'GIF', 'FILE');

-- CreateEnum
CREATE TYPE "MediaStatus" AS ENUM ('PENDING', 'PROCESSING', 'READY', 'REJECTED');

-- AlterTable
ALTER TABLE "users" ADD COLUMN     "avatar_media_id" BIGINT;

-- CreateTable
CREATE TABLE "media" (
    "id" BIGINT NOT NULL,
    "uploader_id" BIGINT NOT NULL,
    "purpose" "MediaPurpose" NOT NULL,
    "file_name" TEXT NOT NULL,
    "content_type" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "kind" "MediaKind",
    "status" "MediaStatus" NOT NULL DEFAULT 'PENDING',
    "rejection_reason" TEXT,
    "width" INTEGER,
    "height" INTEGER,
    "duration_ms" INTEGER,
    "has_thumbnail" BOOLEAN NOT NULL DEFAULT false,
    "storage_key" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "upload_expires_at" TIMESTAMPTZ(3) NOT NULL,
    "processed_at" TIMESTAMPTZ(3),
    "claimed_until" TIMESTAMPTZ(3),
    "attempts" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "media_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "media_attachments" (
    "message_id" BIGINT NOT NULL,
    "media_id" BIGINT NOT NULL,
    "chat_id" BIGINT NOT NULL,
    "position" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "media_attachments_pkey" PRIMARY KEY ("message_id","media_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "media_storage_key_key" ON "media"("storage_key");

-- CreateIndex
CREATE INDEX "media_uploader_id_created_at_idx" ON "media"("uploader_id", "created_at");

-- CreateIndex
CREATE INDEX "media_status_claimed_until_idx" ON "media"("status", "claimed_until");

-- CreateIndex
CREATE INDEX "media_attachments_media_id_idx" ON "media_attachments"("media_id");

