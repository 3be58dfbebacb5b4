import { describe, expect, it } from 'vitest';
import { compareWithUpstream, documentKind, documentTitle, upstreamOf } from './schema-drift.js';

/** A small upstream OpenAPI 3.1 document, in the shape Together's and Discord's take. */
function upstreamOpenApi() {
  return {
    openapi: '3.1.0',
    info: { title: 'Example API', version: '2.0.0' },
    paths: {
      '/images/generations': {
        post: {
          parameters: [{ name: 'dedicated', in: 'query', schema: { type: 'boolean' } }],
          requestBody: {
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['prompt', 'model'],
                  properties: {
                    prompt: { type: 'string', maxLength: 4000 },
                    model: { type: 'string' },
                    guidance: { type: 'number' },
                    response_format: { type: 'string', enum: ['base64', 'url'] },
                    loras: {
                      type: 'array',
                      maxItems: 2,
                      items: { $ref: '#/components/schemas/Lora' },
                    },
                    content: {
                      oneOf: [
                        { type: 'string' },
                        { $ref: '#/components/schemas/Lora' },
                        { $ref: '#/components/schemas/Unused' },
                      ],
                    },
                  },
                },
              },
            },
          },
          responses: {
            '200': { content: { 'application/json': { schema: { $ref: '#/components/schemas/Image' } } } },
          },
        },
      },
      '/models': { get: { responses: { '200': { content: { 'application/json': { schema: {} } } } } } },
    },
    components: {
      schemas: {
        Lora: {
          type: 'object',
          required: ['path', 'scale'],
          properties: { path: { type: 'string' }, scale: { type: 'number', minimum: 0 } },
        },
        Unused: { type: 'object', properties: { kind: { const: 'unused' } } },
        Image: {
          type: 'object',
          properties: { url: { type: ['string', 'null'], format: 'uri' }, b64: { type: 'string' } },
        },
      },
    },
  };
}

type Mutable = ReturnType<typeof upstreamOpenApi>;

function imageBody(upstream: Mutable) {
  return upstream.paths['/images/generations'].post.requestBody.content['application/json'].schema;
}

/**
 * What an owned document keeps of it: without `/models`, the `guidance` property, the `Unused` branch and component
 * and `Image.b64`; sets (`required`, `enum`, `type`) in another order; everything else as upstream has it.
 */
function ownedOpenApi() {
  const owned = upstreamOpenApi();
  const info = { ...owned.info, title: 'Example API (subset)' };
  Object.assign(info, { 'x-upstream': { title: 'Example API', version: '2.0.0', checked: '2026-12-01' } });
  owned.info = info;
  delete (owned.paths as Partial<typeof owned.paths>)['/models'];
  const body = imageBody(owned);
  delete (body.properties as Partial<typeof body.properties>).guidance;
  body.required = ['model', 'prompt'];
  body.properties.response_format.enum = ['url', 'base64'];
  body.properties.content.oneOf = body.properties.content.oneOf.slice(0, 2);
  delete (owned.components.schemas as Partial<typeof owned.components.schemas>).Unused;
  const image = owned.components.schemas.Image.properties;
  delete (image as Partial<typeof image>).b64;
  image.url.type = ['null', 'string'];
  return owned;
}

const IMAGE_BODY = '/paths/~1images~1generations/post/requestBody/content/application~1json/schema';

function driftAfter(change: (upstream: Mutable) => void): string[] {
  const upstream = upstreamOpenApi();
  change(upstream);
  return compareWithUpstream(ownedOpenApi(), upstream).drift;
}

describe('comparing an owned OpenAPI document with its upstream one', () => {
  it('finds no drift when the owned document only leaves things out', () => {
    expect(compareWithUpstream(ownedOpenApi(), upstreamOpenApi())).toEqual({ drift: [], notes: [] });
  });

  it('reports a property that is gone upstream', () => {
    expect(driftAfter((u) => delete (imageBody(u).properties as Record<string, unknown>).model)).toEqual([
      `${IMAGE_BODY}/properties/model: property model is gone upstream`,
    ]);
  });

  it('reports a changed type, enum, format and required list', () => {
    const drift = driftAfter((u) => {
      const body = imageBody(u);
      body.properties.prompt.type = 'array';
      body.properties.response_format.enum = ['base64'];
      body.required = ['prompt', 'model', 'seed'];
      u.components.schemas.Image.properties.url.format = 'uri-reference';
    });
    expect(drift).toEqual([
      `${IMAGE_BODY}: required is ["prompt","model","seed"] upstream, ["model","prompt"] here`,
      `${IMAGE_BODY}/properties/prompt: type is "array" upstream, "string" here`,
      `${IMAGE_BODY}/properties/response_format: enum is ["base64"] upstream, ["url","base64"] here`,
      '/components/schemas/Image/properties/url: format is "uri-reference" upstream, "uri" here',
    ]);
  });

  it('reports bounds that changed, appeared or went away', () => {
    const drift = driftAfter((u) => {
      const body = imageBody(u) as Record<string, unknown> & ReturnType<typeof imageBody>;
      body.properties.prompt.maxLength = 2000;
      (body.properties.model as Record<string, unknown>).minLength = 1;
      delete (body.properties.loras as Partial<typeof body.properties.loras>).maxItems;
      u.components.schemas.Lora.properties.scale.minimum = -1;
    });
    expect(drift).toEqual([
      `${IMAGE_BODY}/properties/prompt: maxLength is 2000 upstream, 4000 here`,
      `${IMAGE_BODY}/properties/model: minLength is 1 upstream, absent here`,
      `${IMAGE_BODY}/properties/loras: maxItems is absent upstream, 2 here`,
      '/components/schemas/Lora/properties/scale: minimum is -1 upstream, 0 here',
    ]);
  });

  it('reports an endpoint, a response, a content type and a component that are gone upstream', () => {
    const drift = driftAfter((u) => {
      const post = u.paths['/images/generations'].post as Partial<
        Mutable['paths']['/images/generations']['post']
      >;
      delete post.responses;
      delete (u.components.schemas as Partial<typeof u.components.schemas>).Image;
      u.paths['/images/generations'].post.requestBody.content = {} as never;
    });
    expect(drift).toEqual([
      `${IMAGE_BODY.replace('/schema', '')}: content type application/json is gone upstream`,
      '/paths/~1images~1generations/post/responses/200: response 200 is gone upstream',
      '/components/schemas/Image: gone upstream',
    ]);
    const gone = driftAfter((u) => delete (u.paths as Partial<typeof u.paths>)['/images/generations']);
    expect(gone).toEqual([
      '/paths/~1images~1generations/post: endpoint POST /images/generations is gone upstream',
    ]);
  });

  it('reports a parameter that went or became required', () => {
    expect(
      driftAfter((u) => {
        (u.paths['/images/generations'].post.parameters[0] as Record<string, unknown>).required = true;
      }),
    ).toEqual(['/paths/~1images~1generations/post/parameters/0: required is true upstream, false here']);
    expect(driftAfter((u) => (u.paths['/images/generations'].post.parameters[0]!.in = 'header'))).toEqual([
      '/paths/~1images~1generations/post/parameters/0: query parameter dedicated is gone upstream',
    ]);
  });

  it('reports a $ref that points elsewhere and a oneOf branch that is gone, but not a branch left out here', () => {
    const drift = driftAfter((u) => {
      const body = imageBody(u);
      body.properties.loras.items.$ref = '#/components/schemas/LoraV2';
      body.properties.content.oneOf = [{ type: 'string' }, { $ref: '#/components/schemas/Unused' }];
    });
    expect(drift).toEqual([
      `${IMAGE_BODY}/properties/loras/items: $ref is "#/components/schemas/LoraV2" upstream, "#/components/schemas/Lora" here`,
      `${IMAGE_BODY}/properties/content/oneOf/1: branch #/components/schemas/Lora is gone upstream`,
    ]);
  });

  it('reports an inline branch that changed or was added upstream', () => {
    expect(
      driftAfter((u) => {
        imageBody(u).properties.content.oneOf[0] = { type: 'integer' };
      }),
    ).toEqual([`${IMAGE_BODY}/properties/content/oneOf/0: type is "integer" upstream, "string" here`]);
    expect(
      driftAfter((u) => {
        imageBody(u).properties.content.oneOf.push({ type: 'null' });
      }),
    ).toEqual([`${IMAGE_BODY}/properties/content/oneOf: upstream has 2 inline branches, 1 here`]);
  });

  it('reports additionalProperties that changed', () => {
    expect(
      driftAfter((u) => {
        (u.components.schemas.Lora as Record<string, unknown>).additionalProperties = false;
      }),
    ).toEqual(['/components/schemas/Lora: additionalProperties is false upstream, absent here']);
  });

  it('lists what the owned document wrote from vendor docs instead of comparing it', () => {
    const owned = ownedOpenApi();
    (owned.components.schemas.Lora.properties as Record<string, unknown>).weight = {
      type: 'number',
      'x-not-upstream': 'docs.example.com/loras',
    };
    expect(compareWithUpstream(owned, upstreamOpenApi())).toEqual({
      drift: [],
      notes: ['/components/schemas/Lora/properties/weight: from docs.example.com/loras'],
    });
  });
});

/** A small Swagger 2.0 document in the shape of Slack's, with arguments as parameters. */
function upstreamSwagger() {
  return {
    swagger: '2.0',
    info: { title: 'Slack Web API', version: '1.7.0' },
    paths: {
      '/chat.postMessage': {
        post: {
          parameters: [
            { name: 'token', in: 'header', type: 'string', required: true },
            { name: 'channel', in: 'formData', type: 'string', required: true },
            { name: 'text', in: 'formData', type: 'string' },
            { name: 'blocks', in: 'formData', type: 'string' },
            { name: 'unfurl_links', in: 'formData', type: 'boolean' },
            { name: 'parse', in: 'formData', type: 'string', enum: ['none', 'full'] },
          ],
        },
      },
      '/auth.test': {
        get: { parameters: [{ name: 'token', in: 'header', type: 'string', required: true }] },
      },
    },
  };
}

function ownedSlack() {
  const args = {
    type: 'object',
    required: ['channel'],
    properties: {
      token: { type: 'string' },
      channel: { type: 'string' },
      text: { type: 'string' },
      blocks: { type: 'array', items: { type: 'object' } },
      unfurl_links: { type: 'boolean' },
      parse: { type: 'string', enum: ['full', 'none'] },
    },
  };
  const body = (name: string) => ({
    requestBody: { content: { 'application/json': { schema: { $ref: `#/components/schemas/${name}` } } } },
  });
  return {
    openapi: '3.1.0',
    info: {
      title: 'Slack (subset)',
      version: '1.7.0',
      'x-upstream': { title: 'Slack Web API', version: '1.7.0' },
    },
    paths: {
      '/chat.postMessage': { post: body('chat.postMessage') },
      '/auth.test': { post: body('auth.test') },
      '/chat.startStream': { post: { 'x-not-upstream': 'docs.slack.dev', ...body('auth.test') } },
    },
    components: {
      schemas: {
        'chat.postMessage': args,
        'auth.test': { type: 'object', properties: { token: { type: 'string' } } },
      },
    },
  };
}

describe('comparing owned Slack arguments with Slack’s Swagger 2.0 document', () => {
  const swaggerDrift = (change: (upstream: ReturnType<typeof upstreamSwagger>) => void) => {
    const upstream = upstreamSwagger();
    change(upstream);
    return compareWithUpstream(ownedSlack(), upstream).drift;
  };
  const parameter = (u: ReturnType<typeof upstreamSwagger>, name: string) =>
    u.paths['/chat.postMessage'].post.parameters.find((p) => p.name === name)! as Record<string, unknown>;

  it('accepts JSON arrays for form parameters typed string, and notes methods written from docs', () => {
    expect(compareWithUpstream(ownedSlack(), upstreamSwagger())).toEqual({
      drift: [],
      notes: ['/paths/~1chat.startStream/post: from docs.slack.dev'],
    });
  });

  it('reports a method or argument that is gone, a changed type, enum or required, and a new required argument', () => {
    const drift = swaggerDrift((u) => {
      delete (u.paths as Partial<typeof u.paths>)['/auth.test'];
      u.paths['/chat.postMessage'].post.parameters = u.paths['/chat.postMessage'].post.parameters.filter(
        (p) => p.name !== 'text',
      );
      parameter(u, 'unfurl_links').type = 'string';
      parameter(u, 'parse').enum = ['none'];
      parameter(u, 'channel').required = false;
      u.paths['/chat.postMessage'].post.parameters.push({
        name: 'team_id',
        in: 'formData',
        type: 'string',
        required: true,
      });
    });
    expect(drift).toEqual([
      '/paths/~1chat.postMessage/post/arguments/channel: required is false upstream, true here',
      '/paths/~1chat.postMessage/post/arguments/text: argument text is gone upstream',
      '/paths/~1chat.postMessage/post/arguments/unfurl_links: type is "string" upstream, "boolean" here',
      '/paths/~1chat.postMessage/post/arguments/parse: enum is ["none"] upstream, ["full","none"] here',
      '/paths/~1chat.postMessage/post/arguments/team_id: upstream requires argument team_id, missing here',
      '/paths/~1auth.test/post: method auth.test is gone upstream',
    ]);
  });

  it('does not take a JSON string for a boolean', () => {
    expect(swaggerDrift((u) => (parameter(u, 'blocks').type = 'boolean'))).toEqual([
      '/paths/~1chat.postMessage/post/arguments/blocks: type is "boolean" upstream, "array" here',
    ]);
  });
});

describe('telling documents apart', () => {
  it('reads the kind, the title and the upstream an owned document names', () => {
    expect(documentKind(upstreamOpenApi())).toBe('openapi3');
    expect(documentKind(upstreamSwagger())).toBe('swagger2');
    expect(documentKind({ title: 'not an API' })).toBeUndefined();
    expect(documentTitle(upstreamSwagger())).toBe('Slack Web API');
    expect(upstreamOf(ownedOpenApi())).toEqual({ title: 'Example API', version: '2.0.0' });
    expect(upstreamOf(upstreamOpenApi())).toBeUndefined();
  });

  it('refuses an upstream file that is no API description', () => {
    expect(compareWithUpstream(ownedOpenApi(), { hello: 'world' }).drift).toEqual([
      '(root): upstream is neither OpenAPI 3.x nor Swagger 2.0',
    ]);
  });
});
