// Starts Swagger UI on the OpenAPI document served next to this page (openapi.json).
window.addEventListener('load', () => {
  window.ui = SwaggerUIBundle({
    url: new URL('openapi.json', window.location.href).toString(),
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    tryItOutEnabled: false,
  });
});
