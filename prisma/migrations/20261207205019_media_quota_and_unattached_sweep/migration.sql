-- AlterTable
ALTER TABLE "media" ADD COLUMN     "attached_at" TIMESTAMPTZ(3);

-- CreateIndex
CREATE INDEX "media_attached_at_created_at_idx" ON "media"("attached_at", "created_at");

-- Media attached before this column existed: the unattached sweep must never take them.
UPDATE "media" SET "attached_at" = COALESCE("processed_at", "created_at")
WHERE "id" IN (SELECT "media_id" FROM "media_attachments")
   OR "id" IN (SELECT "avatar_media_id" FROM "users" WHERE "avatar_media_id" IS NOT NULL);
