/**
 * The four subgraphs of The Guild's public gateways benchmark
 * (github.com/graphql-hive/graphql-gateways-benchmark, `federation/subgraphs/*`:
 * accounts, inventory, products, reviews), reproduced with @apollo/subgraph:
 * the same types, keys, `@requires`/`@provides`, and the same static data
 * (6 users, 9 products, 11 reviews; every review's author is user 1, every
 * user's reviews are reviews 1 and 2), so "the heavy query" fans out to the
 * same plan and returns a response of the same shape and size.
 */
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { parse, type DocumentNode, type GraphQLSchema } from 'graphql';

/** The benchmark's query (their `k6.js`), verbatim but for indentation. */
export const HEAVY_QUERY = `fragment User on User { id username name }
fragment Review on Review { id body }
fragment Product on Product { inStock name price shippingEstimate upc weight }
query TestQuery {
  users {
    ...User
    reviews {
      ...Review
      product {
        ...Product
        reviews { ...Review author { ...User reviews { ...Review product { ...Product } } } }
      }
    }
  }
  topProducts {
    ...Product
    reviews { ...Review author { ...User reviews { ...Review product { ...Product } } } }
  }
}`;

const FEDERATION =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable", "@external", "@requires", "@provides"])';

interface User {
  id: string;
  name: string;
  username: string;
  birthday: number;
}
interface Product {
  upc: string;
  name: string;
  price: number;
  weight: number;
}
interface Review {
  id: string;
  body: string;
  product: { upc: string };
}

const USERS: User[] = [
  ['1', 'Uri Goldshtein', 'urigo'],
  ['2', 'Dotan Simha', 'dotansimha'],
  ['3', 'Kamil Kisiela', 'kamilkisiela'],
  ['4', 'Arda Tanrikulu', 'ardatan'],
  ['5', 'Gil Gardosh', 'gilgardosh'],
  ['6', 'Laurin Quast', 'laurin'],
].map(([id, name, username]) => ({ id: id!, name: name!, username: username!, birthday: 1234567890 }));

const PRODUCTS: Product[] = (
  [
    ['1', 'Table', 899, 100],
    ['2', 'Couch', 1299, 1000],
    ['3', 'Glass', 15, 20],
    ['4', 'Chair', 499, 100],
    ['5', 'TV', 1299, 1000],
    ['6', 'Lamp', 6999, 300],
    ['7', 'Grill', 3999, 2000],
    ['8', 'Fridge', 100000, 6000],
    ['9', 'Sofa', 9999, 800],
  ] as const
).map(([upc, name, price, weight]) => ({ upc, name, price, weight }));

const IN_STOCK = new Set(['1', '5', '6', '7', '9']);

const LOREM =
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum.';
const SED =
  'Sed ut perspiciatis unde omnis iste natus error sit voluptatem accusantium doloremque laudantium, totam rem aperiam, eaque ipsa quae ab illo inventore veritatis et quasi architecto beatae vitae dicta sunt explicabo. Nemo enim ipsam voluptatem quia voluptas sit aspernatur aut odit aut fugi';
const QUIA =
  'sed quia consequuntur magni dolores eos qui ratione voluptatem sequi nesciunt. Neque porro quisquam est, qui dolorem ipsum quia dolor sit amet, consectetur, adipisci velit, sed quia non numquam eius modi tempora incidunt ut labore et dolore magnam aliquam quaerat voluptatem.';
const MINIMA =
  'Ut enim ad minima veniam, quis nostrum exercitationem ullam corporis suscipit laboriosam, nisi ut aliquid ex ea commodi consequatur? Quis autem';
const VERO =
  'At vero eos et accusamus et iusto odio dignissimos ducimus qui blanditiis praesentium voluptatum deleniti atque corrupti quos dolores et quas molestias excepturi sint occaecati cupiditate non provident, similique sunt in culpa qui officia deserunt mollitia animi, id est laborum et dolorum fuga. Et harum quidem rerum facilis est et expedita distinctio. Nam libero tempore, cum soluta nobis est eligendi optio cumque nihil impedit quo minus id quod maxime placeat facere possimus, omnis voluptas assumenda est, omnis dolor repellendus. Temporibus autem quibusdam et aut officiis debitis aut rerum necessitatibus saepe eveniet ut et voluptates repudiandae sint et molestiae non recusandae. Itaque earum rerum hic tenetur a sapiente delectus, ut aut reiciendis voluptatibus maiores alias consequatur aut perferendis doloribus asperiores repellat.';

const REVIEWS: Review[] = (
  [
    [LOREM, '1'],
    [SED, '1'],
    [QUIA, '1'],
    [MINIMA, '1'],
    [LOREM, '2'],
    [SED, '2'],
    [QUIA, '2'],
    [MINIMA, '2'],
    [MINIMA, '3'],
    [MINIMA, '4'],
    [VERO, '4'],
  ] as const
).map(([body, upc], index) => ({ id: String(index + 1), body, product: { upc } }));

/** What the reviews subgraph knows of a user: the benchmark gives everyone reviews 1 and 2. */
const reviewsUser = (id: string, username: string) => ({ id, username, reviews: REVIEWS.slice(0, 2) });

export interface HeavySubgraph {
  name: 'accounts' | 'inventory' | 'products' | 'reviews';
  typeDefs: DocumentNode;
  resolvers: GraphQLResolverMap<unknown>;
}

export const HEAVY_SUBGRAPHS: HeavySubgraph[] = [
  {
    name: 'accounts',
    typeDefs: parse(`${FEDERATION}
      type Query { me: User user(id: ID!): User users: [User] }
      type User @key(fields: "id") { id: ID! name: String username: String @shareable birthday: Int }`),
    resolvers: {
      Query: {
        me: () => USERS[0],
        user: (_: unknown, { id }: { id: string }) => USERS.find((user) => user.id === id),
        users: () => USERS,
      },
      User: { __resolveReference: ({ id }: { id: string }) => USERS.find((user) => user.id === id) },
    },
  },
  {
    name: 'inventory',
    typeDefs: parse(`${FEDERATION}
      type Product @key(fields: "upc") {
        upc: String!
        weight: Int @external
        price: Int @external
        inStock: Boolean
        shippingEstimate: Int @requires(fields: "price weight")
      }`),
    resolvers: {
      Product: {
        __resolveReference: ({
          upc,
          price,
          weight,
        }: {
          upc: string;
          price?: number | null;
          weight?: number | null;
        }) => ({ upc, price, weight, inStock: IN_STOCK.has(upc) }),
        // As the benchmark's inventory subgraph: free above 1000, else half the weight.
        shippingEstimate: ({ price, weight }: { price?: number | null; weight?: number | null }) =>
          price == null ? null : price > 1000 ? 0 : weight == null ? null : Math.trunc(weight / 2),
      },
    },
  },
  {
    name: 'products',
    typeDefs: parse(`${FEDERATION}
      type Query { topProducts(first: Int = 5): [Product] }
      type Product @key(fields: "upc") { upc: String! name: String price: Int weight: Int }`),
    resolvers: {
      Query: { topProducts: (_: unknown, { first }: { first?: number | null }) => PRODUCTS.slice(0, first ?? 5) },
      Product: { __resolveReference: ({ upc }: { upc: string }) => PRODUCTS.find((product) => product.upc === upc) },
    },
  },
  {
    name: 'reviews',
    typeDefs: parse(`${FEDERATION}
      type Review @key(fields: "id") { id: ID! body: String product: Product author: User @provides(fields: "username") }
      type User @key(fields: "id") { id: ID! username: String @external reviews: [Review] }
      type Product @key(fields: "upc") { upc: String! reviews: [Review] }`),
    resolvers: {
      Review: {
        __resolveReference: ({ id }: { id: string }) => REVIEWS.find((review) => review.id === id),
        author: () => reviewsUser('1', 'urigo'),
      },
      User: { __resolveReference: ({ id }: { id: string }) => reviewsUser(id, 'user') },
      Product: {
        __resolveReference: ({ upc }: { upc: string }) => ({ upc }),
        reviews: ({ upc }: { upc: string }) => REVIEWS.filter((review) => review.product.upc === upc),
      },
    },
  },
];

export const heavySchema = (subgraph: HeavySubgraph): GraphQLSchema =>
  buildSubgraphSchema({ typeDefs: subgraph.typeDefs, resolvers: subgraph.resolvers });
