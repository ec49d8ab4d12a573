-- CreateEnum
CREATE TYPE "GroupAddPolicy" AS ENUM ('EVERYONE', 'CONNECTIONS', 'NOBODY');

-- AlterTable
ALTER TABLE "users" ADD COLUMN     "group_add_policy" "GroupAddPolicy" NOT NULL DEFAULT 'CONNECTIONS';

-- CreateTable
CREATE TABLE "group_invitations" (
    "chat_id" BIGINT NOT NULL,
    "user_id" BIGINT NOT NULL,
    "inviter_id" BIGINT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "declined_at" TIMESTAMPTZ(3),

    CONSTRAINT "group_invitations_pkey" PRIMARY KEY ("chat_id","user_id")
);

-- CreateIndex
CREATE INDEX "group_invitations_user_id_created_at_chat_id_idx" ON "group_invitations"("user_id", "created_at" DESC, "chat_id");

-- AddForeignKey
ALTER TABLE "group_invitations" ADD CONSTRAINT "group_invitations_chat_id_fkey" FOREIGN KEY ("chat_id") REFERENCES "chats"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "group_invitations" ADD CONSTRAINT "group_invitations_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

