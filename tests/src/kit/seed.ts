/** Seed builders: each test makes its own users and chats, so suites need no cleanup. */
import { gqlOk } from './client.ts';

let counter = 0;

export interface TestUser {
  id: string;
  username: string;
  displayName: string;
  password: string;
  token: string;
}

export async function registerUser(url: string, name = 'user'): Promise<TestUser> {
  counter += 1;
  const username = `${name}_${process.pid}_${Date.now().toString(36)}_${counter}`.slice(0, 32);
  const password = `pw-${username}-secret`;
  const displayName = `${name[0]?.toUpperCase()}${name.slice(1)} ${counter}`;
  const data = await gqlOk<{ register: { accessToken: string; user: { id: string } } }>(
    url,
    `mutation ($input: RegisterInput!) { register(input: $input) { accessToken refreshToken user { id username displayName } } }`,
    { input: { username, password, displayName } },
  );
  return { id: data.register.user.id, username: username.toLowerCase(), displayName, password, token: data.register.accessToken };
}

export async function directChat(url: string, from: TestUser, to: TestUser): Promise<string> {
  const data = await gqlOk<{ createDirectChat: { id: string } }>(
    url,
    'mutation ($userId: ID!) { createDirectChat(userId: $userId) { id } }',
    { userId: to.id },
    from.token,
  );
  return data.createDirectChat.id;
}

export async function sendText(url: string, user: TestUser, chatId: string, text: string, clientMessageId = `c-${Date.now()}-${++counter}`) {
  const data = await gqlOk<{ sendMessage: { id: string; text: string } }>(
    url,
    'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id text clientMessageId } }',
    { input: { chatId, text, clientMessageId } },
    user.token,
  );
  return data.sendMessage;
}
